/**
 * simdnet in a real browser: the kernel checks and a training run inside headless Chromium, and the
 * demo's 2-D page driven end to end. Pages are served by a Vite dev server with the demo's config
 * but without its cross-origin isolation headers, as a plain host would serve them. (The static
 * build, with the headers, is tested in demo.test.ts.)
 */
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PageResults } from './browser/kernels.js';
import { launchChromium, openPage } from './support/chromium.js';
import { screenshotsOnFailure } from './support/demo-pages.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const artefacts = fileURLToPath(new URL('../test-results/', import.meta.url));

let server: ViteDevServer;
let browser: Browser;
let base: string;

beforeAll(async () => {
  // The demo's own config (the 'simdnet' alias to src/), served from the repository root so the
  // test page under test/browser/ is reachable too.
  server = await createServer({
    configFile: fileURLToPath(new URL('../examples/browser/vite.config.ts', import.meta.url)),
    root: repo,
    logLevel: 'error',
    server: {
      host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null,
      headers: { 'Cross-Origin-Opener-Policy': 'unsafe-none', 'Cross-Origin-Embedder-Policy': 'unsafe-none' },
    },
  });
  await server.listen();
  base = server.resolvedUrls!.local[0]!;
  browser = await launchChromium();
}, 60_000);

/** The decision map as the page drew it. */
async function boundaryImage(page: Page): Promise<string> {
  return page.evaluate(() => document.querySelector<HTMLCanvasElement>('#boundary')!.toDataURL());
}

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('in headless Chromium', () => {
  test('every kernel matches a float64 reference on both backends, and a model trains on each', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${base}test/browser/kernels.html`);
    await page.waitForFunction(() => window.simdnetResults !== undefined, null, { timeout: 90_000 });
    const r = (await page.evaluate(() => window.simdnetResults)) as PageResults;

    expect(r.error).toBeUndefined();
    expect(errors).toEqual([]);
    // Plain hosting: no cross-origin isolation headers were needed.
    expect(r.crossOriginIsolated).toBe(false);
    // The wasm backend really is wasm here, not a silent fallback to JS.
    expect(r.backends).toEqual(['wasm', 'js']);
    for (const name of ['wasm', 'js']) {
      expect(r.checks.filter((c) => c.backend === name).length).toBeGreaterThanOrEqual(50);
    }
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);

    const [wasm, js] = r.training;
    expect(wasm.initialWeights).toEqual(js.initialWeights);
    for (const run of [wasm, js]) {
      expect(run.losses.at(-1)!).toBeLessThan(run.losses[0] * 0.5);
      expect(run.acc).toBeGreaterThan(0.9);
    }
    // Same seed, same data order: the two curves agree up to float32 rounding.
    expect(Math.abs(wasm.losses.at(-1)! - js.losses.at(-1)!)).toBeLessThan(0.02);
    await page.close();
  }, 120_000);

  test('the 2-D page trains in a worker: pace, loss and accuracy, Stop, Save, Load, Continue, the JS comparison, Reset', async () => {
    const { page, errors } = await openPage(browser);
    screenshotsOnFailure(page, 'plane');
    await page.goto(`${base}examples/browser/index.html`);
    await page.selectOption('#dataset', 'moons');
    const chartPoints = async () => Number(await page.getAttribute('#chart', 'data-points'));
    const chartLastX = async () => Number(await page.getAttribute('#chart', 'data-last-x'));

    // An error goes away as soon as its input is fixed.
    await page.fill('#hidden', '16, x');
    expect(await page.textContent('#error')).toMatch(/^Hidden layers/);
    expect(await page.getAttribute('#hidden', 'aria-invalid')).toBe('true');
    await page.fill('#hidden', '16, 16');
    expect(await page.textContent('#error')).toBe('');
    expect(await page.getAttribute('#hidden', 'aria-invalid')).toBeNull();

    // Long enough that training is still running when the test presses Stop.
    await page.fill('#epochs', '100000');
    // Every loss the page shows, recorded as it changes: training is fast enough that polling
    // could miss the first ones.
    await page.evaluate(() => {
      const shown: string[] = ((window as unknown as { lossesShown: string[] }).lossesShown = []);
      const el = document.querySelector('#loss')!;
      new MutationObserver(() => shown.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    });
    await page.click('#train');

    const epoch = async () => Number(await page.textContent('#epoch'));
    const percent = async () => parseFloat((await page.textContent('#accuracy')) ?? '');
    await page.waitForFunction(() => document.querySelector('#epoch')!.textContent !== '0', null, { timeout: 30_000 });

    // The page stays responsive while it trains: script on the main thread runs promptly.
    const t0 = Date.now();
    await page.evaluate(() => 1 + 1);
    expect(Date.now() - t0).toBeLessThan(1_000);

    // The default pace (200 epochs a second) makes a run last long enough to watch.
    const paceStart = { at: Date.now(), epoch: await epoch() };
    await page.waitForTimeout(1_000);
    const perSecond = ((await epoch()) - paceStart.epoch) / ((Date.now() - paceStart.at) / 1000);
    expect(perSecond).toBeLessThan(300);
    await page.selectOption('#pace', '0');

    await page.waitForFunction(
      () => parseFloat(document.querySelector('#accuracy')!.textContent ?? '') >= 95,
      null,
      { timeout: 60_000, polling: 200 },
    );
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#status')!.textContent.startsWith('stopped'), null, { timeout: 10_000 });
    const stoppedAt = await epoch();
    const shown = (await page.evaluate(() => (window as unknown as { lossesShown: string[] }).lossesShown))
      .map(Number)
      .filter(Number.isFinite);
    expect(shown.length).toBeGreaterThan(1);
    expect(shown.at(-1)!).toBeLessThan(shown[0] * 0.5);
    expect(await percent()).toBeGreaterThanOrEqual(90);
    expect(await page.textContent('#speed-wasm')).toMatch(/\d/);
    // Every epoch is on the chart, none thinned out.
    await expect.poll(chartPoints).toBe(stoppedAt);

    await mkdir(artefacts, { recursive: true });
    await page.screenshot({ path: `${artefacts}demo.png`, fullPage: true });

    // Nothing moves after Stop.
    await page.waitForTimeout(400);
    expect(await epoch()).toBe(stoppedAt);

    // Save downloads the model; after Reset, loading that file brings back the same model: the same
    // epoch, loss, accuracy and decision map.
    const shownBefore = { loss: await page.textContent('#loss'), accuracy: await page.textContent('#accuracy'), map: await boundaryImage(page) };
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    expect(download.suggestedFilename()).toBe(`moons-${stoppedAt}-epochs.snet`);
    const bytes = await readFile((await download.path()));
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('SNET');
    await page.click('#reset');
    expect(await page.textContent('#accuracy')).toBe('–');
    await expect.poll(chartPoints).toBe(0);
    await page.setInputFiles('#load', { name: download.suggestedFilename(), mimeType: 'application/octet-stream', buffer: bytes });
    await page.waitForFunction(() => document.querySelector('#status')!.textContent.startsWith('loaded'), null, { timeout: 10_000 });
    expect(await epoch()).toBe(stoppedAt);
    expect({ loss: await page.textContent('#loss'), accuracy: await page.textContent('#accuracy'), map: await boundaryImage(page) }).toEqual(shownBefore);

    // The loaded model trains on from where it was, and the chart's epochs go on from there.
    await page.click('#continue');
    await page.waitForFunction((at) => Number(document.querySelector('#epoch')!.textContent) > at, stoppedAt, { timeout: 30_000 });
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#status')!.textContent.startsWith('stopped'), null, { timeout: 10_000 });
    expect(await percent()).toBeGreaterThanOrEqual(90);
    await expect.poll(chartLastX).toBe(await epoch());

    // The same model on the JS backend; its speed is compared with wasm's on the same setup.
    await page.check('#useJs');
    await page.click('#train');
    await page.waitForFunction(() => document.querySelector('#speed')!.textContent.includes('js'), null, { timeout: 30_000 });
    await page.click('#stop');
    await page.waitForFunction(() => /\d/.test(document.querySelector('#speed-js')!.textContent), null, { timeout: 10_000 });
    expect(await page.textContent('#speed-js')).toMatch(/\(wasm [\d.]+× faster\)/);
    // Another data set is another setup: nothing to compare yet.
    await page.selectOption('#dataset', 'circles');
    expect(await page.textContent('#speed-wasm')).toBe('–');

    // A run that ends on its own says so.
    await page.fill('#epochs', '30');
    await page.click('#train');
    await page.waitForFunction(() => document.querySelector('#status')!.textContent.startsWith('finished'), null, { timeout: 30_000 });
    expect(await page.textContent('#status')).toBe('finished: 30 epochs');
    await expect.poll(chartPoints).toBe(30);

    // Reset clears the run, the chart's epochs start again from 0.
    await page.click('#reset');
    expect(await page.textContent('#epoch')).toBe('0');
    expect(await page.textContent('#status')).toBe('ready');
    await expect.poll(chartPoints).toBe(0);

    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
