/**
 * The README's TypeScript examples run as they are printed: each ```ts block is written to a file
 * in an empty folder, with only the package names ('simdnet', 'simdnet/node') pointed at the
 * sources, and run with tsx there. A block that no longer runs, or throws, fails here.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const tsx = join(repo, 'node_modules/tsx/dist/cli.mjs');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');

/**
 * Each ```ts block, with the heading it sits under; the browser recipe's files (marked
 * `<!-- recipe: … -->`) are built with Vite and run in Chromium by test/package.test.ts instead.
 */
const blocks = [...readme.matchAll(/(<!-- recipe: [^>]*-->\n)?```ts\n([\s\S]*?)```/g)].filter((match) => !match[1]).map((match) => {
  const heading = [...readme.slice(0, match.index).matchAll(/^#+ (.*)$/gm)].at(-1)?.[1] ?? 'top';
  return { heading, code: match[2] };
});

const pointed = (code: string): string => code
  .replace(/from 'simdnet\/node'/g, `from '${pathToFileURL(join(repo, 'src/node.ts')).href}'`)
  .replace(/from 'simdnet'/g, `from '${pathToFileURL(join(repo, 'src/index.ts')).href}'`);

describe('README examples', () => {
  test('there are examples to run', () => {
    expect(blocks.map((b) => b.heading)).toEqual(expect.arrayContaining(['API', 'Saving, loading and TensorFlow.js']));
  });

  test.each(blocks)('the example under "$heading" runs as printed', async ({ code }) => {
    const dir = await mkdtemp(join(tmpdir(), 'simdnet-readme-'));
    try {
      await writeFile(join(dir, 'example.mts'), pointed(code));
      await run(process.execPath, [tsx, 'example.mts'], { cwd: dir, timeout: 120_000 }).catch((err: { stderr: string }) => {
        throw new Error(`the example failed:\n${err.stderr}`);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
