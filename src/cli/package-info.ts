/** The package's own package.json, found relative to this file (src/cli or dist/cli). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

export function readPackageJson(): { version?: string } {
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
}
