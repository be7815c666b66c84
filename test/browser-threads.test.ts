/**
 * Threads in headless Chromium, from the pre-bundled dist/browser/simdnet.js on a page's main
 * thread (test/browser/threads.js): served cross-origin isolated (COOP/COEP), a model asked for two
 * threads runs on two, with the bits of one thread; served plainly, or with a Content-Security-
 * Policy that forbids blob: workers, it runs on one and says why.
 */
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, openPage } from './support/chromium.js';
import { serveStatic } from './support/static-server.js';

const repo = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const ISOLATED = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

interface ThreadResults {
  error?: string;
  crossOriginIsolated: boolean;
  threads: number;
  reason: string | null;
  losses: number[][];
  sameBits: boolean;
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

async function visit(headers: Record<string, string>): Promise<{ results: ThreadResults; errors: string[] }> {
  const server = await serveStatic(repo, headers);
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${server.url}test/browser/threads.html`);
    await page.waitForFunction(() => (window as { threadResults?: unknown }).threadResults !== undefined, null, { timeout: 120_000 });
    const results = (await page.evaluate(() => (window as { threadResults?: unknown }).threadResults)) as ThreadResults;
    await page.close();
    return { results, errors };
  } finally {
    await server.close();
  }
}

describe('threads in Chromium, pre-bundled build, page main thread', () => {
  test('cross-origin isolated: two threads, the same bits as one', async () => {
    const { results, errors } = await visit(ISOLATED);
    expect(results.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(results.crossOriginIsolated).toBe(true);
    expect(results.threads).toBe(2);
    expect(results.reason).toBeNull();
    expect(results.losses[0][2]).toBeLessThan(results.losses[0][0]);
    expect(results.sameBits).toBe(true);
  }, 180_000);

  test('plain hosting: one thread, and the reason', async () => {
    const { results } = await visit({});
    expect(results.error).toBeUndefined();
    expect(results.crossOriginIsolated).toBe(false);
    expect(results.threads).toBe(1);
    expect(results.reason).toMatch(/cross-origin-isolated page \(COOP\/COEP/);
    expect(results.sameBits).toBe(true);
  }, 180_000);

  test('a Content-Security-Policy without blob: workers: one thread, and the reason', async () => {
    const { results } = await visit({ ...ISOLATED, 'Content-Security-Policy': "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'" });
    expect(results.error).toBeUndefined();
    expect(results.crossOriginIsolated).toBe(true);
    expect(results.threads).toBe(1);
    expect(results.reason).toMatch(/worker threads could not start/);
    expect(results.sameBits).toBe(true);
  }, 180_000);
});
