// Writes .env.example from the configuration module, so the two cannot drift:
//   npx tsx scripts/env-example.ts > .env.example
import { variables } from '../src/config/variables.js';

const sections = {
  REQUIRED: 'REQUIRED (production)',
  OPTIONAL: 'OPTIONAL',
  ADVANCED: 'ADVANCED (rarely changed)',
} as const;

const rule = '# ============================================';
const lines = [
  rule,
  '# NEXUS environment',
  '# Copy to .env (read at start from the working directory) or set in the environment.',
  '# With nothing set, NEXUS runs in development mode: embedded store in ./data,',
  '# API keys not checked, loopback only.',
  rule,
];
for (const [section, title] of Object.entries(sections)) {
  lines.push('', rule, `# ${title}`, rule, '');
  for (const [name, spec] of Object.entries(variables)) {
    if (spec.section !== section) continue;
    lines.push(`# ${spec.help}`, spec.example === '' ? `# ${name}=` : `${name}=${spec.example}`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
