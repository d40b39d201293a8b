import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * What the pure core (STYLE.md: dependency rule) may import: its own three folders, the
 * store's port and zod. Anything else, a package or a folder added tomorrow, is refused.
 */
const pureCoreImports = String.raw`zod|\./[\w.-]+|\.\./(events|commands|projections)/[\w.-]+|\.\./store/event-store\.js`;

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
      'no-restricted-syntax': [
        'error',
        { selector: 'ThrowStatement > Literal', message: 'Throw an Error subclass, never a string.' },
      ],
    },
  },
  {
    files: ['src/events/**', 'src/commands/**', 'src/projections/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(?!(${pureCoreImports})$)`,
              message:
                'src/events, src/commands and src/projections import only each other, the store port (store/event-store.js) and zod; pass anything else in.',
            },
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
