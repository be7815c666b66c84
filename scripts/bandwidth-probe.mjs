// Bandwidth probe for the streaming kernels: optimizer updates, bias add, column sums and a few
// references (copy, fill, allFinite), on arrays far larger than the caches (default 10M floats per
// array). Prints GB/s counting every byte each kernel must read and write once, best of several
// runs (the machine is shared), and the share of the streaming bandwidth measured in the same run
// for the same mix of read and write streams.
// Usage: npm run build:wasm && node scripts/bandwidth-probe.mjs [elements] [build/simdnet.wasm]
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
const arrays = Array.from({ length: 4 }, () => alloc(N));
const [w, g, m, v] = arrays;
const f32 = new Float32Array(memory.buffer);
for (const p of arrays) for (let i = 0; i < N; i++) f32[(p >> 2) + i] = 0.5 + 0.001 * (i % 97);
// Column sums and bias add over a [rows × cols] view of the same N floats.
const cols = 1000;
const rows = Math.floor(N / cols);
const bias = alloc(cols);

const kernels = [
  // name, [read streams, write streams], call
  ['copy (memory.copy)', [1, 1], () => ex.copy(w, g, N)],
  ['fill', [0, 1], () => ex.fill(m, N, 0.25)],
  ['allFinite', [1, 0], () => ex.allFinite(w, N)],
  ['sgd', [2, 1], () => ex.sgd(w, g, N, 1e-9, 0, tmp)],
  ['momentum', [3, 2], () => ex.momentum(w, g, m, N, 1e-9, 0.9, 3, 0, tmp)],
  ['adam', [4, 3], () => ex.adam(w, g, m, v, N, 1e-9, 0.9, 0.999, 1e-7, 3, 0, tmp)],
  [`biasAdd ${rows}×${cols}`, [1, 1], () => ex.biasAdd(w, bias, rows, cols)],
  [`colSum ${rows}×${cols}`, [1, 0], () => ex.colSum(g, rows, cols, bias, 0)],
];

const best = new Map();
for (let round = 0; round < 7; round++) {
  for (const [name, , call] of kernels) {
    call();
    const t0 = performance.now();
    call();
    const dt = performance.now() - t0;
    best.set(name, Math.min(best.get(name) ?? Infinity, dt));
  }
}
const gbps = new Map();
for (const [name, [r, wr]] of kernels) gbps.set(name, ((r + wr) * N * 4) / (best.get(name) * 1e6));
// Streaming references of this run: 1 read (allFinite), 1 write (fill), 1 read + 1 write (copy).
const ref = { '1,0': gbps.get('allFinite'), '0,1': gbps.get('fill'), '1,1': gbps.get('copy (memory.copy)') };
console.log(`${N} floats per array; best of 7 runs`);
for (const [name, [r, wr]] of kernels) {
  const streams = `${r}r${wr}w`;
  const base = ref[`${r},${wr}`];
  const share = base && !name.startsWith('copy') && name !== 'fill' && name !== 'allFinite' ? `  ${((100 * gbps.get(name)) / base).toFixed(0)}% of ${name.startsWith('colSum') ? 'allFinite' : 'copy'}` : '';
  console.log(`${name.padEnd(24)} ${streams.padEnd(5)} ${best.get(name).toFixed(2).padStart(8)} ms ${gbps.get(name).toFixed(1).padStart(6)} GB/s${share}`);
}
