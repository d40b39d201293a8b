import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Engines, frameworks and adapters the pure core must never import (STYLE.md: dependency rule). */
const adapterPackages = ['hono', 'hono/*', '@hono/*', 'ioredis', 'amqplib', '@eventstore/*', 'better-sqlite3', 'pg', 'pino', 'node:http', 'node:fs', 'node:fs/*'];
const adapterFolders = ['**/store/sqlite-*', '**/store/postgres-*', '**/store/esdb-*', '**/store/open-event-store*', '**/distributed/**', '**/metrics*', '**/worker-*', '**/http/**', '**/dispatch/**', '**/fanout/**', '**/worker/**', '**/catalog/**', '**/nexus.js', '**/main.js', '**/logger.js'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', 'test-output/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-syntax': ['error', { selector: 'ThrowStatement > Literal', message: 'Throw an Error subclass, never a string.' }],
    },
  },
  {
    files: ['src/events/**', 'src/commands/**', 'src/projections/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: adapterPackages, message: 'The domain stays pure: no frameworks or engines here (see STYLE.md).' },
            { group: adapterFolders, message: 'The domain must not depend on adapters; pass them in through a port.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  // JavaScript files are type-checked by tsc (checkJs), which knows Node's globals.
  { files: ['**/*.js'], rules: { 'no-undef': 'off' } },
);
