/**
 * The pre-bundled browser build as `npm run build` leaves it (scripts/bundle-browser.mjs; nothing
 * is built here): the file every page loads stays within 60 kB gzipped, and what only some pages
 * need (the other wasm builds, the threads' code, the JavaScript inflate) stays in files beside it,
 * which headless Chromium fetches only when a page needs them (test/browser/bundle.js). Also the
 * worker threads' source, minified in dist/ at build time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Script } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, test } from 'vitest';
import { THREAD_SOURCE } from '../src/backend/threads/worker-source.js';
import { launchChromium, openPage } from './support/chromium.js';
import { serveStatic } from './support/static-server.js';

/** The requirement: the default browser bundle stays within 60 kB gzipped (kB as npm run size prints them, 1024 bytes). */
const LIMIT_BYTES = 60 * 1024;
const ON_DEMAND = [
  'simdnet-relaxed.generated.js', 'simdnet-shared.generated.js', 'simdnet-relaxed-shared.generated.js', 'simdnet-threads.js', 'simdnet-inflate.js',
];

const dist = (path: string): string => {
  const file = new URL(`../dist/${path}`, import.meta.url);
  if (!existsSync(file)) throw new Error(`dist/${path} is missing: run \`npm run build\` first`);
  return readFileSync(file, 'utf8');
};

describe('dist/browser/simdnet.js', () => {
  const bundle = dist('browser/simdnet.js');

  test('is at most 60 kB gzipped, as npm run size measures it', () => {
    const gzipped = gzipSync(bundle, { level: 9 }).length;
    expect(gzipped, `${(gzipped / 1024).toFixed(1)} kB gzipped`).toBeLessThanOrEqual(LIMIT_BYTES);
  });

  test('is one file: it imports nothing up front', () => {
    expect(bundle).not.toMatch(/(^|[;}])\s*import\s*[\w{*]/);
    expect(bundle).not.toMatch(/\bfrom\s*["'`]\.\//);
  });

  test('fetches the other builds, the threads and the JavaScript inflate only on demand, from files beside it', () => {
    for (const file of ON_DEMAND) {
      expect(bundle, file).toMatch(new RegExp(`\\bimport\\(["'\`]\\./${file.replace(/\./g, '\\.')}["'\`]\\)`));
      expect(dist(`browser/${file}`).length, file).toBeGreaterThan(0);
    }
  });
});

describe("the worker threads' source in dist/", () => {
  for (const build of ['', 'cjs/']) {
    test(`dist/${build} holds it minified, as a script that compiles`, async () => {
      const built = (await import(new URL(`../dist/${build}backend/threads/worker-source.js`, import.meta.url).href)) as {
        THREAD_SOURCE: string; default?: { THREAD_SOURCE: string };
      };
      const source = built.THREAD_SOURCE ?? built.default!.THREAD_SOURCE;
      expect(source.length).toBeLessThan(THREAD_SOURCE.length * 0.6);
      expect(source.startsWith('"use strict";')).toBe(true);
      expect(() => new Script(source)).not.toThrow();
    });
  }
});

describe('dist/browser/simdnet.js in Chromium: what a page fetches', () => {
  const repo = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  const ISOLATED = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  /** Trains on the page test/browser/bundle.html?QUERY; returns its results and the files of dist/browser/ it fetched. */
  async function visit(query: string, headers: Record<string, string> = {}) {
    browser ??= await launchChromium();
    const server = await serveStatic(repo, headers);
    try {
      const { page, errors } = await openPage(browser);
      const fetched: string[] = [];
      page.on('request', (request) => {
        const file = /\/dist\/browser\/([^/?]+)$/.exec(new URL(request.url()).pathname)?.[1];
        if (file) fetched.push(file);
      });
      await page.goto(`${server.url}test/browser/bundle.html?${query}`);
      await page.waitForFunction(() => (window as { bundleResults?: unknown }).bundleResults !== undefined, null, { timeout: 60_000 });
      const results = (await page.evaluate(() => (window as { bundleResults?: unknown }).bundleResults)) as {
        error?: string; backend: string; threads: number; first: number; last: number;
      };
      await page.close();
      expect(results.error).toBeUndefined();
      expect(errors).toEqual([]);
      expect(results.backend).toBe('wasm');
      expect(results.last).toBeLessThan(results.first * 0.7);
      return { results, fetched: fetched.sort() };
    } finally {
      await server.close();
    }
  }

  test('a model on one thread: simdnet.js alone', async () => {
    const { results, fetched } = await visit('threads=1');
    expect(results.threads).toBe(1);
    expect(fetched).toEqual(['simdnet.js']);
  }, 90_000);

  test('a model on two threads: the threads\' code and the shared build too', async () => {
    const { results, fetched } = await visit('threads=2', ISOLATED);
    expect(results.threads).toBe(2);
    expect(fetched).toEqual(['simdnet-shared.generated.js', 'simdnet-threads.js', 'simdnet.js']);
  }, 90_000);

  test('an engine without DecompressionStream: the JavaScript inflate too', async () => {
    const { results, fetched } = await visit('threads=1&inflate=js');
    expect(results.threads).toBe(1);
    expect(fetched).toEqual(['simdnet-inflate.js', 'simdnet.js']);
  }, 90_000);
});
