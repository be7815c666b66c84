/** `simdnet bench`: runs the quick benchmark of a clone of the source repository. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './package-info.js';

export function bench(out: (line: string) => void): number {
  const root = packageRoot();
  // The benchmarks are TypeScript run by tsx, with TensorFlow.js as a peer: sources and development
  // dependencies that an installed package does not have.
  if (!existsSync(join(root, 'bench/run.ts'))) {
    out(
      'simdnet bench: the benchmarks are not part of the installed package; run them from a clone of the ' +
        'source repository: npm install, then npm run bench:quick',
    );
    return 1;
  }
  if (!existsSync(join(root, 'node_modules/.bin/tsx'))) {
    out(`simdnet bench: the benchmarks need the development dependencies: run npm install in ${root} first`);
    return 1;
  }
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const run = spawnSync(npm, ['run', 'bench:quick'], { cwd: root, stdio: 'inherit' });
  if (run.error) {
    out(`simdnet bench: could not run "npm run bench:quick" (${run.error.message})`);
    return 1;
  }
  return run.status ?? 1;
}
