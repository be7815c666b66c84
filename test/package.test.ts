/**
 * The package as a user gets it: `npm pack`, installed from the tarball into an empty project, then
 * imported from Node (with its TypeScript types), from a Vite app, and from plain static pages.
 * Each consumer trains XOR a little and reports the loss, with no wasm path configured anywhere.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, openPage } from './support/chromium.js';
import { recordNodeBuiltins } from './support/node-builtins.js';
import { serveStatic } from './support/static-server.js';
import * as app from './support/consumer-app.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(repo, 'node_modules/typescript/bin/tsc');

let dir: string;
let project: string;
let browser: Browser | undefined;

interface Outcome {
  backend: string;
  before: number;
  after: number;
  threads: number;
}

/** Threads 'auto' gives where threads can run: the cores, at most 8 (src/backend/index.ts). */
const AUTO_THREADS = Math.min(availableParallelism(), 8);
const ISOLATED = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** Both backends trained; the wasm model on `threads` threads (js always on one). */
function expectTrained(outcomes: Outcome[], threads = 1): void {
  expect(outcomes.map((o) => o.backend)).toEqual(['wasm', 'js']);
  for (const o of outcomes) expect(o.after).toBeLessThan(o.before * 0.7);
  expect(outcomes.map((o) => o.threads)).toEqual([threads, 1]);
}

beforeAll(async () => {
  // The tarball is packed from dist/ as built by `npm install` (prepare); packing does not rebuild,
  // so that it never rewrites files other tests are reading.
  if (!existsSync(join(repo, 'dist/index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  dir = await mkdtemp(join(tmpdir(), 'simdnet-pack-'));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: repo });
  const tarball = join(dir, (JSON.parse(stdout) as { filename: string }[])[0].filename);

  project = join(dir, 'consumer');
  await mkdir(project);
  await app.write(project);
  await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], {
    cwd: project,
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the packed tarball, installed into an empty project', () => {
  test('ships the built library and no sources, tests or demo', async () => {
    const files = await readdir(join(project, 'node_modules/simdnet'), { recursive: true });
    expect(files).toContain(join('dist', 'index.js'));
    expect(files).toContain(join('dist', 'index.d.ts'));
    expect(files).toContain(join('dist', 'browser', 'simdnet.js'));
    expect(files.some((f) => /^(src|test|examples|assembly|bench)\b/.test(f))).toBe(false);
  });

  test('imports and trains in Node (ESM and CommonJS), on every core by default', async () => {
    for (const script of ['node.mjs', 'node.cjs']) {
      const { stdout } = await run(process.execPath, [script], { cwd: project });
      expectTrained(JSON.parse(stdout) as Outcome[], AUTO_THREADS);
    }
  });

  test('type-checks a TypeScript consumer against the shipped declarations', async () => {
    // The consumer also holds a deliberate misuse marked @ts-expect-error: it proves the types are
    // real, not `any`, since an unused @ts-expect-error fails the check.
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project }).catch((err: { stdout: string }) => {
      throw new Error(`tsc failed:\n${err.stdout}`);
    });
  }, 60_000);

  test('bundles with Vite, with no Node built-ins, and runs in Chromium (main thread and worker)', async () => {
    const builtins: string[] = [];
    await build({
      configFile: false,
      root: project,
      logLevel: 'error',
      plugins: [recordNodeBuiltins(builtins)],
      build: { outDir: 'dist', emptyOutDir: true },
    });
    expect(builtins).toEqual([]);
    // The worker was bundled as its own file, and no .wasm file is needed beside the scripts.
    const assets = await readdir(join(project, 'dist/assets'));
    expect(assets.filter((f) => f.startsWith('worker'))).toHaveLength(1);
    expect(assets.filter((f) => f.endsWith('.wasm'))).toEqual([]);
    const results = await openInChromium(join(project, 'dist'), 'index.html');
    expectTrained(results.main);
    expectTrained(results.worker);
    // Served cross-origin isolated, the same build runs on threads, with no configuration.
    const isolated = await openInChromium(join(project, 'dist'), 'index.html', ISOLATED);
    expectTrained(isolated.main, AUTO_THREADS);
    expectTrained(isolated.worker, AUTO_THREADS);
  }, 120_000);

  test('runs as plain ES modules served as static files, with an import map', async () => {
    const results = await openInChromium(project, 'static.html');
    expectTrained(results.main);
  }, 60_000);

  test('runs from the pre-bundled dist/browser/simdnet.js on a static page, with no import map', async () => {
    const results = await openInChromium(project, 'static-bundle.html');
    expectTrained(results.main);
  }, 60_000);
});

async function openInChromium(
  root: string, file: string, headers: Record<string, string> = {},
): Promise<{ main: Outcome[]; worker: Outcome[] }> {
  browser ??= await launchChromium();
  const server = await serveStatic(root, headers);
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(server.url + file);
    await page.waitForFunction(() => (window as { done?: boolean }).done === true, null, { timeout: 60_000 });
    const results = await page.evaluate(() => (window as unknown as { results: { main: Outcome[]; worker: Outcome[]; error?: string } }).results);
    expect(results.error).toBeUndefined();
    expect(errors).toEqual([]);
    await page.close();
    return results;
  } finally {
    await server.close();
  }
}
