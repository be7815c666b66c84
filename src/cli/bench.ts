/** `simdnet bench`: runs the repository's quick benchmark when it is there. */
import { spawnSync } from 'node:child_process';
import { readPackageJson, packageRoot } from './package-info.js';

export function bench(out: (line: string) => void): number {
  const scripts = readPackageJson().scripts ?? {};
  if (scripts['bench:quick'] === undefined) {
    out(
      'simdnet bench: the quick benchmark is not available yet (package.json has no "bench:quick" script). ' +
        'Benchmarks live in bench/ of the source repository.',
    );
    return 1;
  }
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const run = spawnSync(npm, ['run', 'bench:quick'], { cwd: packageRoot(), stdio: 'inherit' });
  if (run.error) {
    out(`simdnet bench: could not run "npm run bench:quick" (${run.error.message})`);
    return 1;
  }
  return run.status ?? 1;
}
