// Bias and reductions over row-major m×n blocks: bias add, column sums (db from dZ), accuracy
// counting and the finite check the facade runs on inputs.
import { hsum } from './horizontal';

/** x[i][j] += bias[j] over an m×n block (bias has n floats). */
export function biasAdd(x: usize, bias: usize, m: i32, n: i32): void {
  if (n == 1) {
    // One column: a flat pass adding one value.
    const b = v128.load32_splat(bias);
    const s = load<f32>(bias);
    const end = x + (<usize>m << 2);
    const vecEnd = x + (<usize>(m & ~3) << 2);
    for (; x < vecEnd; x += 16) v128.store(x, f32x4.add(v128.load(x), b));
    for (; x < end; x += 4) store<f32>(x, load<f32>(x) + s);
    return;
  }
  const rowBytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  for (let r = 0; r < m; r++) {
    let off: usize = 0;
    for (; off < vecBytes; off += 16) v128.store(x + off, f32x4.add(v128.load(x + off), v128.load(bias + off)));
    for (; off < rowBytes; off += 4) store<f32>(x + off, load<f32>(x + off) + load<f32>(bias + off));
    x += rowBytes;
  }
}

/** out[j] = Σ_i x[i][j] over an m×n block (out[j] += … when accumulate). out must not alias x. */
export function colSum(x: usize, m: i32, n: i32, out: usize, accumulate: i32): void {
  if (n == 1) {
    // One column: four running sums over the flat vector, folded at the end.
    let acc = f32x4.splat(0);
    const end = x + (<usize>m << 2);
    const vecEnd = x + (<usize>(m & ~3) << 2);
    for (; x < vecEnd; x += 16) acc = f32x4.add(acc, v128.load(x));
    let s = hsum(acc);
    for (; x < end; x += 4) s += load<f32>(x);
    store<f32>(out, accumulate ? load<f32>(out) + s : s);
    return;
  }
  const rowBytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  if (!accumulate) memory.fill(out, 0, rowBytes);
  // Row by row keeps reads sequential; out (n floats) stays in L1.
  for (let r = 0; r < m; r++) {
    let off: usize = 0;
    for (; off < vecBytes; off += 16) v128.store(out + off, f32x4.add(v128.load(out + off), v128.load(x + off)));
    for (; off < rowBytes; off += 4) store<f32>(out + off, load<f32>(out + off) + load<f32>(x + off));
    x += rowBytes;
  }
}

/** Index of the first maximum of n floats at p. */
@inline function argmax(p: usize, n: i32): i32 {
  let best = 0;
  let bestValue = load<f32>(p);
  for (let j = 1; j < n; j++) {
    const v = load<f32>(p + (<usize>j << 2));
    if (v > bestValue) {
      bestValue = v;
      best = j;
    }
  }
  return best;
}

/**
 * Correct predictions in an m×n batch: n = 1 compares a ≥ 0.5 with y ≥ 0.5; n > 1 compares the
 * argmax of each row of a with the argmax of the row of y (first maximum wins).
 */
export function countCorrect(a: usize, y: usize, m: i32, n: i32): i32 {
  let correct = 0;
  if (n == 1) {
    for (let i = 0; i < m; i++) {
      const off = <usize>i << 2;
      if ((load<f32>(a + off) >= 0.5) == (load<f32>(y + off) >= 0.5)) correct++;
    }
    return correct;
  }
  const rowBytes = <usize>n << 2;
  for (let i = 0; i < m; i++) {
    if (argmax(a, n) == argmax(y, n)) correct++;
    a += rowBytes;
    y += rowBytes;
  }
  return correct;
}

/**
 * 1 if every x[i] (i < n) is finite, else 0. x·0 is 0 for finite x and NaN for ±Inf and NaN, and a
 * NaN survives every later addition. Four independent sums: one chain of adds would wait out the
 * add latency on every vector and run at a third of the speed the caches deliver.
 */
export function allFinite(x: usize, n: i32): i32 {
  const zero = f32x4.splat(0);
  let acc0 = zero, acc1 = zero, acc2 = zero, acc3 = zero;
  const end = x + (<usize>n << 2);
  const blockEnd = x + (<usize>(n & ~15) << 2);
  for (; x < blockEnd; x += 64) {
    acc0 = f32x4.add(acc0, f32x4.mul(v128.load(x), zero));
    acc1 = f32x4.add(acc1, f32x4.mul(v128.load(x, 16), zero));
    acc2 = f32x4.add(acc2, f32x4.mul(v128.load(x, 32), zero));
    acc3 = f32x4.add(acc3, f32x4.mul(v128.load(x, 48), zero));
  }
  const vecEnd = x + (<usize>((<i32>(end - x) >> 2) & ~3) << 2);
  for (; x < vecEnd; x += 16) acc0 = f32x4.add(acc0, f32x4.mul(v128.load(x), zero));
  const acc = f32x4.add(f32x4.add(acc0, acc1), f32x4.add(acc2, acc3));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)
    + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; x < end; x += 4) s += load<f32>(x) * 0;
  return s == s ? 1 : 0;
}

/**
 * The inputs' check and density in one pass (src/plan.ts uploadRows): how many x[i] (i < n) are not
 * ±0, or −1 when one is NaN or ±Infinity; the density decides the sparse path (sparse.ts). Each
 * lane's compare gives −1 for a nonzero, subtracted from two counters (2³¹ floats would not fit in
 * memory, so a lane count cannot overflow); beside them allFinite's two sums of x·0. A pass over
 * data just copied in is bound by memory, not by these few instructions a vector.
 */
export function countNonzeroFinite(x: usize, n: i32): i32 {
  const zero = f32x4.splat(0);
  let c0 = i32x4.splat(0), c1 = i32x4.splat(0);
  let s0 = zero, s1 = zero;
  const end = x + (<usize>n << 2);
  const blockEnd = x + (<usize>(n & ~7) << 2);
  for (; x < blockEnd; x += 32) {
    const v0 = v128.load(x);
    const v1 = v128.load(x, 16);
    c0 = i32x4.sub(c0, f32x4.ne(v0, zero));
    c1 = i32x4.sub(c1, f32x4.ne(v1, zero));
    s0 = f32x4.add(s0, f32x4.mul(v0, zero));
    s1 = f32x4.add(s1, f32x4.mul(v1, zero));
  }
  const c = i32x4.add(c0, c1);
  let count = i32x4.extract_lane(c, 0) + i32x4.extract_lane(c, 1) + i32x4.extract_lane(c, 2) + i32x4.extract_lane(c, 3);
  const s = f32x4.add(s0, s1);
  let sum = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; x < end; x += 4) {
    const v = load<f32>(x);
    if (v != 0) count++;
    sum += v * 0;
  }
  return sum == sum ? count : -1;
}
