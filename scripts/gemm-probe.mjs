// Quick GEMM probe: checks the three wasm GEMM variants against a float64 reference and prints
// GFLOP/s. Usage: npm run build:wasm && node scripts/gemm-probe.mjs [sizes...]
import { readFileSync } from 'node:fs';
import { instantiate } from '@assemblyscript/loader';

const bytes = readFileSync(new URL('../build/simdnet.wasm', import.meta.url));
const { instance } = await instantiate(bytes);
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
const scratch = alloc(ex.gemmScratchFloats());
const f32 = () => new Float32Array(memory.buffer);

const variants = {
  NN: (m, n, k, a, b, c, acc) => ex.gemmNN(m, n, k, a, k, b, n, c, n, acc, scratch),
  TN: (m, n, k, a, b, c, acc) => ex.gemmTN(m, n, k, a, m, b, n, c, n, acc, scratch),
  NT: (m, n, k, a, b, c, acc) => ex.gemmNT(m, n, k, a, k, b, k, c, n, acc, scratch),
};
// Element (i,p) of op(A) and (p,j) of op(B) in stored layout.
const aIdx = { NN: (i, p, m, k) => i * k + p, TN: (i, p, m) => p * m + i, NT: (i, p, m, k) => i * k + p };
const bIdx = { NN: (p, j, n) => p * n + j, TN: (p, j, n) => p * n + j, NT: (p, j, n, k) => j * k + p };

function check(name, m, n, k) {
  const mark = top;
  const a = alloc(m * k), b = alloc(k * n), c = alloc(m * n);
  const F = f32();
  for (let i = 0; i < m * k; i++) F[a / 4 + i] = Math.random() * 2 - 1;
  for (let i = 0; i < k * n; i++) F[b / 4 + i] = Math.random() * 2 - 1;
  for (let i = 0; i < m * n; i++) F[c / 4 + i] = 0.5;
  variants[name](m, n, k, a, b, c, 1);
  let err = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0.5;
    for (let p = 0; p < k; p++) s += F[a / 4 + aIdx[name](i, p, m, k)] * F[b / 4 + bIdx[name](p, j, n, k)];
    err = Math.max(err, Math.abs(F[c / 4 + i * n + j] - s) / (1 + Math.abs(s)));
  }
  top = mark;
  if (err > 1e-5) throw new Error(`${name} ${m}x${n}x${k}: error ${err}`);
}
for (const name of Object.keys(variants))
  for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [4, 8, 4], [5, 9, 3], [37, 29, 300], [130, 515, 257], [7, 1, 520]])
    check(name, m, n, k);
// Strides let a caller compute one block of C at a time (a worker's share): rows [r0, r1) and
// columns [c0, c1) of a 70×300 product, from sub-blocks of the stored operands.
{
  const [m, n, k, r0, r1, c0, c1] = [70, 300, 90, 13, 61, 37, 290];
  const mark = top;
  const a = alloc(m * k), b = alloc(k * n), full = alloc(m * n), part = alloc(m * n);
  const F = f32();
  for (let i = 0; i < m * k; i++) F[a / 4 + i] = Math.random() * 2 - 1;
  for (let i = 0; i < k * n; i++) F[b / 4 + i] = Math.random() * 2 - 1;
  ex.gemmNN(m, n, k, a, k, b, n, full, n, 0, scratch);
  ex.gemmNN(r1 - r0, c1 - c0, k, a + r0 * k * 4, k, b + c0 * 4, n, part + (r0 * n + c0) * 4, n, 0, scratch);
  const G = f32();
  for (let i = r0; i < r1; i++) for (let j = c0; j < c1; j++) {
    if (G[part / 4 + i * n + j] !== G[full / 4 + i * n + j]) throw new Error(`sub-block differs at ${i},${j}`);
  }
  top = mark;
}
console.log('correctness ok');

const sizes = process.argv.slice(2).map(Number);
for (const s of sizes.length ? sizes : [64, 128, 256, 512]) {
  const a = alloc(s * s), b = alloc(s * s), c = alloc(s * s);
  const F = f32();
  for (let i = 0; i < s * s; i++) { F[a / 4 + i] = Math.random(); F[b / 4 + i] = Math.random(); }
  const row = [`n=${s}`];
  for (const [name, fn] of Object.entries(variants)) {
    const flops = 2 * s * s * s;
    const reps = Math.max(3, Math.round(2e9 / flops));
    for (let i = 0; i < 3; i++) fn(s, s, s, a, b, c, 0);
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) fn(s, s, s, a, b, c, 0);
      best = Math.min(best, (performance.now() - t0) / reps);
    }
    row.push(`${name} ${(flops / best / 1e6).toFixed(1)} GFLOP/s`);
  }
  console.log(row.join('  '));
}
