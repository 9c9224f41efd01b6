// `npm run bench`: runs bench/run.sh (the scenarios, pinned with taskset) from the project root.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// npm run bench has just built the project.
const run = spawnSync('bash', [join(root, 'bench', 'run.sh'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, BUILD: process.env.BUILD ?? '0' },
});
process.exit(run.status ?? 1);
