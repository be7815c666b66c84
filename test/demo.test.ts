/**
 * The demo as `npm run demo:build` writes it, served as plain static files from a sub-path with
 * the two cross-origin isolation headers, in headless Chromium: the MNIST page trains to ≥ 90% test
 * accuracy in its default run, reads a drawn 1, and compares with TF.js (loaded only then); both
 * pages fit the three screen sizes and pass axe-core; opened as files, they say what to do.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ISOLATION_HEADERS } from '../examples/browser/vite.config.js';
import { launchChromium, openPage } from './support/chromium.js';
import { SIZES, screenshotsOnFailure, seriousViolations } from './support/demo-pages.js';
import { serveStatic } from './support/static-server.js';

const demo = fileURLToPath(new URL('../examples/browser/', import.meta.url));

let dir: string;
let out: string;
let site: Awaited<ReturnType<typeof serveStatic>> | undefined;
let browser: Browser | undefined;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simdnet-demo-'));
  // Deeper than the server's root: the build must use relative URLs only.
  out = join(dir, 'any', 'path');
  await build({ configFile: join(demo, 'vite.config.ts'), root: demo, logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
  site = await serveStatic(dir, ISOLATION_HEADERS);
  base = `${site.url}any/path/`;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? '';

async function waitForStatus(page: Page, pattern: RegExp, timeout: number): Promise<void> {
  await page.waitForFunction((source) => new RegExp(source).test(document.querySelector('#status')!.textContent), pattern.source, { timeout });
}

/** A "1" as a person draws it: one stroke from the top down, leaning a little. */
async function drawOne(page: Page): Promise<void> {
  const pad = page.locator('#pad');
  await pad.scrollIntoViewIfNeeded();
  const box = (await pad.boundingBox())!;
  const at = (fx: number, fy: number) => [box.x + fx * box.width, box.y + fy * box.height] as const;
  await page.mouse.move(...at(0.55, 0.15));
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) await page.mouse.move(...at(0.55 - 0.006 * i, 0.15 + 0.06 * i));
  await page.mouse.up();
}

describe('the static demo build in headless Chromium', () => {
  test('is self-contained: relative URLs, the digits as a compact binary, the hosting headers', () => {
    expect(existsSync(join(out, 'index.html')) && existsSync(join(out, 'mnist.html'))).toBe(true);
    expect(existsSync(join(out, '_headers'))).toBe(true);
  });

  test('MNIST: the default run reaches ≥ 90% test accuracy, a drawn 1 reads as 1, and TF.js compares when asked', async () => {
    const { page, errors } = await openPage(browser!, SIZES[0]);
    screenshotsOnFailure(page, 'mnist');
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`${base}mnist.html`);
    await waitForStatus(page, /^ready$/, 30_000);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await text(page, '#data')).toMatch(/^8,000 training and 2,000 test digits \(1\.\d MB download\)$/);

    await page.click('#train');
    await waitForStatus(page, /^finished/, 120_000);
    expect(parseFloat(await text(page, '#testAccuracy'))).toBeGreaterThanOrEqual(90);
    expect(Number(await text(page, '#speed').then((s) => s.replace(/,/g, '')))).toBeGreaterThan(0);
    expect(Number(await text(page, '#threadsUsed'))).toBeGreaterThanOrEqual(1);
    // One point per batch: 8,000 digits in batches of 64 is 125 a epoch.
    expect(Number(await page.getAttribute('#chart', 'data-points'))).toBeGreaterThanOrEqual(125 * 8);

    await drawOne(page);
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#verdict')!.dataset.digit === '1', null, { timeout: 10_000 });
    const shown = await page.$$eval('#probabilities .value', (cells) => cells.map((c) => parseFloat(c.textContent)));
    expect(shown).toHaveLength(10);
    expect(shown.reduce((a, b) => a + b, 0)).toBeCloseTo(100, -1);
    // A keyboard's way in: a test digit, classified like a drawing.
    await page.focus('#sample');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /^It reads \d .*Test digit #\d+, a \d/.test(document.querySelector('#verdict')!.textContent), null, { timeout: 10_000 });

    // TF.js is fetched only now, and trains the same network for the same (shortened) run.
    expect(requests.filter((url) => /tfjs/.test(url))).toEqual([]);
    await page.fill('#epochs', '1');
    await page.click('#compare');
    await page.waitForFunction(() => /faster|slower|failed/.test(document.querySelector('#compare-note')!.textContent), null, { timeout: 120_000 });
    expect(await text(page, '#compare-note')).toMatch(/^TF\.js 4\.\d+\.\d+ \(WebAssembly, SIMD/);
    for (const row of ['#row-simdnet', '#row-tfjs']) {
      expect(Number((await text(page, `${row} .speed`)).replace(/,/g, ''))).toBeGreaterThan(0);
      expect(parseFloat(await text(page, `${row} .acc`))).toBeGreaterThan(80);
    }
    expect(requests.some((url) => /tfjs-backend-wasm.*\.wasm$/.test(url))).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  test('both pages fit 1400×900, 1024×700 and 390 px wide: nothing wider than the screen, the chart and figures beside the map', async () => {
    for (const name of ['index', 'mnist']) {
      const { page, errors } = await openPage(browser!, SIZES[0]);
      screenshotsOnFailure(page, name);
      await page.goto(`${base}${name}.html`);
      await waitForStatus(page, /^ready$/, 30_000);
      for (const size of SIZES) {
        await page.setViewportSize(size);
        // The charts follow their column's width from the next frame on.
        await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
        expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} at ${size.width}`).toBeLessThanOrEqual(size.width);
      }
      if (name === 'index') {
        // On a small laptop the map, the chart and the figures are all on the first screen.
        await page.setViewportSize(SIZES[1]);
        for (const selector of ['#boundary', '#chart', '#stats']) {
          const box = (await page.locator(selector).boundingBox())!;
          expect(box.y + box.height, `${selector} at 1024×700`).toBeLessThanOrEqual(SIZES[1].height);
          expect(box.x + box.width, `${selector} at 1024×700`).toBeLessThanOrEqual(SIZES[1].width);
        }
      }
      expect(errors).toEqual([]);
      await page.close();
    }
  }, 60_000);

  test('both pages pass axe-core with no serious or critical violation, before and after training', async () => {
    for (const name of ['index', 'mnist']) {
      const { page, errors } = await openPage(browser!, SIZES[0]);
      screenshotsOnFailure(page, `${name}-axe`);
      await page.goto(`${base}${name}.html`);
      await waitForStatus(page, /^ready$/, 30_000);
      expect(await seriousViolations(page)).toEqual([]);
      await page.fill('#epochs', name === 'index' ? '50' : '1');
      if (name === 'index') await page.selectOption('#pace', '0');
      await page.click('#train');
      await waitForStatus(page, /^finished/, 60_000);
      expect(await seriousViolations(page)).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    }
  }, 120_000);

  test('opened as files (file://), the pages say they need a web server instead of hanging', async () => {
    for (const name of ['index', 'mnist']) {
      const page = await browser!.newPage();
      await page.goto(`file://${join(out, `${name}.html`)}`);
      await expect.poll(() => page.isVisible('#file-note')).toBe(true);
      expect(await text(page, '#file-note')).toContain('python3 -m http.server');
      expect(await text(page, '#status')).toMatch(/needs a web server/);
      await page.close();
    }
  });
});
