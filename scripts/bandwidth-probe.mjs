// Bandwidth probe for the streaming kernels: optimizer updates, bias add, column sums, the finite
// check and two references (fill, copy), far out of cache: four arrays of N floats (default 10M,
// 40 MB each), and the single-stream kernels over all four at once (160 MB, five times the L3).
// Prints GB/s counting every byte a kernel must read and write once, best of 7 runs (the machine
// is shared), and the share of the streaming bandwidth PERFORMANCE.md gives for the same mix of
// read and write streams (1r 10, 1w 12, 1r1w 14, 2r1w 19 GB/s; more streams: the 2r1w figure).
// Usage: npm run build:wasm && node scripts/bandwidth-probe.mjs [N] [build/simdnet.wasm]
import { readFileSync } from 'node:fs';

const N = Number(process.argv[2] ?? 10_000_000);
const file = process.argv[3] ?? new URL('../build/simdnet.wasm', import.meta.url);
const { instance } = await WebAssembly.instantiate(readFileSync(file), {});
const ex = instance.exports;
const memory = ex.memory;

let top = (ex.heapBase() + 15) & ~15;
function alloc(count) {
  const ptr = top;
  top = (top + count * 4 + 15) & ~15;
  const need = Math.ceil(top / 65536) - memory.buffer.byteLength / 65536;
  if (need > 0) memory.grow(need);
  return ptr;
}
const tmp = alloc(ex.tmpFloats());
const cols = 1000;
const bias = alloc(cols);
const whole = alloc(4 * N); // w, g, m, v back to back
const [w, g, m, v] = [0, 1, 2, 3].map((i) => whole + 4 * i * N);
const f32 = new Float32Array(memory.buffer);
for (let i = 0; i < 4 * N; i++) f32[(whole >> 2) + i] = 0.5 + 0.001 * (i % 97);
const all = 4 * N;
const rows = Math.floor(all / cols);

const kernels = [
  // name, floats per stream, [read streams, write streams], call
  ['fill', all, [0, 1], () => ex.fill(whole, all, 0.5)],
  ['copy (memory.copy)', 2 * N, [1, 1], () => ex.copy(w, m, 2 * N)],
  ['allFinite', all, [1, 0], () => ex.allFinite(whole, all)],
  [`colSum ${rows}×${cols}`, all, [1, 0], () => ex.colSum(whole, rows, cols, bias, 0)],
  [`biasAdd ${rows}×${cols}`, all, [1, 1], () => ex.biasAdd(whole, bias, rows, cols)],
  ['sgd', N, [2, 1], () => ex.sgd(w, g, N, 1e-9, 0, tmp)],
  ['momentum', N, [3, 2], () => ex.momentum(w, g, m, N, 1e-9, 0.9, 3, 0, tmp)],
  ['adam', N, [4, 3], () => ex.adam(w, g, m, v, N, 1e-9, 0.9, 0.999, 1e-7, 3, 0, tmp)],
];
const FIGURES = { '1,0': 10, '0,1': 12, '1,1': 14, '2,1': 19 };

const best = new Map();
for (let round = 0; round < 7; round++) {
  for (const [name, , , call] of kernels) {
    const t0 = performance.now();
    call();
    best.set(name, Math.min(best.get(name) ?? Infinity, performance.now() - t0));
  }
}
console.log(`${N} floats per array; best of 7 runs`);
for (const [name, floats, [r, wr], ] of kernels) {
  const gbps = ((r + wr) * floats * 4) / (best.get(name) * 1e6);
  const figure = FIGURES[`${r},${wr}`] ?? FIGURES['2,1'];
  console.log(
    `${name.padEnd(24)} ${`${r}r${wr}w`.padEnd(5)} ${best.get(name).toFixed(2).padStart(8)} ms ` +
      `${gbps.toFixed(1).padStart(6)} GB/s  ${((100 * gbps) / figure).toFixed(0).padStart(4)}% of ${figure} GB/s`,
  );
}
