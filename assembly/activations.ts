// Activations: forward y = g(x) or y = g(x + bias), and the backward product dZ = dA ⊙ g'(Z).
//
// Vector loops work on f32x4; tails (row lengths not a multiple of 4) run the same vector code on a
// splatted scalar, so a value gives the same result wherever it sits in a row.
// V8 rebuilds v128 constants at every use inside a loop and does not hoist loads, so each kernel
// loads its constants from the static table K (and alpha from the caller's `tmp` slot) into
// locals before looping.
import { derivv, LEAKY_RELU, LINEAR, RELU, SIGMOID, SOFTMAX, TANH } from './derivative';
import { hmax, hsum } from './horizontal';

// Where the bias comes from: none, one per column (a row vector), or one value for everything (n = 1).
const BIAS_NONE = 0;
const BIAS_ROW = 1;
const BIAS_SPLAT = 2;

// Constants, by index into K. exp(r) on [−ln2/2, ln2/2] uses the Cephes expf polynomial (~1e-7
// relative); tanh uses an odd polynomial for |x| < 0.625, where (1 − e)/(1 + e) would lose relative
// accuracy to cancellation.
const LN_MIN = 0;     // ln of the smallest normal float
const LOG2E = 1;
const MAGIC = 2;      // 1.5·2^23: adding it rounds to an integer held in the low mantissa bits
const LN2_HI = 3;     // ln 2 split in two so n·ln2 is exact enough for the range reduction
const LN2_LO = 4;
const EXP_P = 5;      // 6 exp coefficients, highest degree first
const ONE = 11;
const ZERO = 12;
const MINUS_TWO = 13;
const TANH_CUT = 14;
const TANH_P = 15;    // 5 tanh coefficients in x², highest degree first
const SIGN = 20;     // −0: the sign bit alone
const K = memory.data<f32>([
  -87.33654, 1.44269504, 12582912.0, 0.693359375, -2.12194440e-4,
  1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
  1.0, 0.0, -2.0, 0.625,
  -5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1,
  -0.0,
], 16);

/** Constant i of K in every lane. */
@inline function kv(i: i32): v128 {
  return v128.load32_splat(K + (<usize>i << 2));
}

// The kernels below load every constant they use into locals once, then pass them down to these
// @inline helpers; the helpers' long parameter lists are the price of keeping constants out of the
// loops (+18% on sigmoid here).

/**
 * e^x per lane for x ≤ 0 (every caller passes −|z|, −2|x| or x − max). Results below the smallest
 * normal float (x < −87.34) are flushed to 0: subnormal results are slow on some CPUs and within
 * 1.2e-38 of 0 anyway. NaN stays NaN.
 */
@inline function expv(
  x: v128, lo: v128, log2e: v128, magic: v128, ln2hi: v128, ln2lo: v128,
  p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, one: v128,
): v128 {
  const under = f32x4.lt(x, lo); // false for NaN, so NaN is not flushed
  x = f32x4.pmax(x, lo);
  // t's low mantissa bits hold n = round(x·log2 e); t − magic recovers n as a float.
  const t = f32x4.add(f32x4.mul(x, log2e), magic);
  const n = f32x4.sub(t, magic);
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, ln2hi)), f32x4.mul(n, ln2lo));
  let p = f32x4.add(f32x4.mul(p0, r), p1);
  p = f32x4.add(f32x4.mul(p, r), p2);
  p = f32x4.add(f32x4.mul(p, r), p3);
  p = f32x4.add(f32x4.mul(p, r), p4);
  p = f32x4.add(f32x4.mul(p, r), p5);
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), one);
  // Scale by 2^n: t << 23 is n << 23 (the magic's own bits shift out), added to p's exponent.
  return v128.andnot(i32x4.add(p, i32x4.shl(t, 23)), under);
}

/**
 * g(v) for the elementwise activations (not softmax); act is a constant after inlining.
 * sigmoid: 1/(1+e) for z ≥ 0 and e/(1+e) for z < 0 with e = e^−|z|, so nothing overflows.
 * tanh: odd polynomial for |x| < 0.625 (where (1 − e)/(1 + e) loses relative accuracy), else
 * sign(x)·(1 − e)/(1 + e) with e = e^−2|x|.
 * relu: pmax is one maxps; x < 0 ? 0 : x keeps NaN visible.
 */
@inline function applyv(
  act: i32, v: v128, alpha: v128, zero: v128, one: v128,
  lo: v128, log2e: v128, magic: v128, ln2hi: v128, ln2lo: v128,
  p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128,
  minus2: v128, cut: v128, sign: v128, t0: v128, t1: v128, t2: v128, t3: v128, t4: v128,
): v128 {
  if (act == SIGMOID) {
    const e = expv(f32x4.neg(f32x4.abs(v)), lo, log2e, magic, ln2hi, ln2lo, p0, p1, p2, p3, p4, p5, one);
    const q = f32x4.div(one, f32x4.add(one, e));
    return v128.bitselect(f32x4.mul(e, q), q, f32x4.lt(v, zero));
  }
  if (act == TANH) {
    const ax = f32x4.abs(v);
    const e = expv(f32x4.mul(ax, minus2), lo, log2e, magic, ln2hi, ln2lo, p0, p1, p2, p3, p4, p5, one);
    const big = v128.or(f32x4.div(f32x4.sub(one, e), f32x4.add(one, e)), v128.and(v, sign));
    const z = f32x4.mul(v, v);
    let p = f32x4.add(f32x4.mul(t0, z), t1);
    p = f32x4.add(f32x4.mul(p, z), t2);
    p = f32x4.add(f32x4.mul(p, z), t3);
    p = f32x4.add(f32x4.mul(p, z), t4);
    const small = f32x4.add(v, f32x4.mul(f32x4.mul(v, z), p));
    return v128.bitselect(small, big, f32x4.lt(ax, cut));
  }
  if (act == RELU) return f32x4.pmax(v, zero);
  if (act == LEAKY_RELU) return v128.bitselect(v, f32x4.mul(alpha, v), f32x4.gt(v, zero));
  return v;
}

/** The vector at x, plus the bias vector at b (BIAS_ROW) or bsplat (BIAS_SPLAT). */
@inline function biased(biasMode: i32, x: usize, b: usize, bsplat: v128): v128 {
  let v = v128.load(x);
  if (biasMode == BIAS_ROW) v = f32x4.add(v, v128.load(b));
  if (biasMode == BIAS_SPLAT) v = f32x4.add(v, bsplat);
  return v;
}

/**
 * y[r][j] = g(x[r][j] + bias) over rows×n floats, rows contiguous (stride n). biasMode BIAS_ROW
 * adds bias[j], BIAS_SPLAT adds bias[0] everywhere, BIAS_NONE adds nothing. y may alias x.
 */
@inline function rowsElementwise(
  act: i32, biasMode: i32, x: usize, bias: usize, y: usize, rows: i32, n: i32, tmp: usize,
): void {
  const alpha = v128.load32_splat(tmp);
  const zero = kv(ZERO), one = kv(ONE);
  const bsplat = biasMode == BIAS_SPLAT ? v128.load32_splat(bias) : zero;
  const exp = act == SIGMOID || act == TANH;
  const lo = exp ? kv(LN_MIN) : zero;
  const log2e = exp ? kv(LOG2E) : zero, magic = exp ? kv(MAGIC) : zero;
  const ln2hi = exp ? kv(LN2_HI) : zero, ln2lo = exp ? kv(LN2_LO) : zero;
  const p0 = exp ? kv(EXP_P) : zero, p1 = exp ? kv(EXP_P + 1) : zero;
  const p2 = exp ? kv(EXP_P + 2) : zero, p3 = exp ? kv(EXP_P + 3) : zero;
  const p4 = exp ? kv(EXP_P + 4) : zero, p5 = exp ? kv(EXP_P + 5) : zero;
  const th = act == TANH;
  const minus2 = th ? kv(MINUS_TWO) : zero, cut = th ? kv(TANH_CUT) : zero;
  const sign = th ? kv(SIGN) : zero;
  const t0 = th ? kv(TANH_P) : zero, t1 = th ? kv(TANH_P + 1) : zero;
  const t2 = th ? kv(TANH_P + 2) : zero, t3 = th ? kv(TANH_P + 3) : zero;
  const t4 = th ? kv(TANH_P + 4) : zero;
  const rowBytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  // sigmoid and tanh take four vectors per step: each one's exp is a long dependency chain, and
  // V8's code keeps only a few loop iterations in flight, so four chains side by side run about
  // 1.5× faster (same results: each lane's arithmetic is unchanged). Not with a splatted bias (a
  // single-unit layer, short columns), where the extra copies would only grow the module.
  const quadBytes = exp && biasMode != BIAS_SPLAT ? <usize>(n & ~15) << 2 : 0;
  for (let r = 0; r < rows; r++) {
    let off: usize = 0;
    for (; off < quadBytes; off += 64) {
      const g0 = applyv(act, biased(biasMode, x + off, bias + off, bsplat), alpha, zero, one, lo, log2e, magic,
        ln2hi, ln2lo, p0, p1, p2, p3, p4, p5, minus2, cut, sign, t0, t1, t2, t3, t4);
      const g1 = applyv(act, biased(biasMode, x + off + 16, bias + off + 16, bsplat), alpha, zero, one, lo, log2e, magic,
        ln2hi, ln2lo, p0, p1, p2, p3, p4, p5, minus2, cut, sign, t0, t1, t2, t3, t4);
      const g2 = applyv(act, biased(biasMode, x + off + 32, bias + off + 32, bsplat), alpha, zero, one, lo, log2e, magic,
        ln2hi, ln2lo, p0, p1, p2, p3, p4, p5, minus2, cut, sign, t0, t1, t2, t3, t4);
      const g3 = applyv(act, biased(biasMode, x + off + 48, bias + off + 48, bsplat), alpha, zero, one, lo, log2e, magic,
        ln2hi, ln2lo, p0, p1, p2, p3, p4, p5, minus2, cut, sign, t0, t1, t2, t3, t4);
      v128.store(y + off, g0);
      v128.store(y + off, g1, 16);
      v128.store(y + off, g2, 32);
      v128.store(y + off, g3, 48);
    }
    for (; off < vecBytes; off += 16) {
      v128.store(y + off, applyv(act, biased(biasMode, x + off, bias + off, bsplat), alpha, zero, one, lo, log2e,
        magic, ln2hi, ln2lo, p0, p1, p2, p3, p4, p5, minus2, cut, sign, t0, t1, t2, t3, t4));
    }
    for (; off < rowBytes; off += 4) {
      let s = load<f32>(x + off);
      if (biasMode == BIAS_ROW) s += load<f32>(bias + off);
      let v = f32x4.splat(s);
      if (biasMode == BIAS_SPLAT) v = f32x4.add(v, bsplat);
      v = applyv(act, v, alpha, zero, one, lo, log2e, magic, ln2hi, ln2lo,
        p0, p1, p2, p3, p4, p5, minus2, cut, sign, t0, t1, t2, t3, t4);
      store<f32>(y + off, f32x4.extract_lane(v, 0));
    }
    x += rowBytes;
    y += rowBytes;
  }
}

/** Row-wise softmax of x (+ bias[j] when withBias), max-subtracted; y may alias x. */
@inline function rowsSoftmax(withBias: bool, x: usize, bias: usize, y: usize, rows: i32, n: i32): void {
  const one = kv(ONE);
  const lo = kv(LN_MIN);
  const log2e = kv(LOG2E), magic = kv(MAGIC);
  const ln2hi = kv(LN2_HI), ln2lo = kv(LN2_LO);
  const p0 = kv(EXP_P), p1 = kv(EXP_P + 1), p2 = kv(EXP_P + 2);
  const p3 = kv(EXP_P + 3), p4 = kv(EXP_P + 4), p5 = kv(EXP_P + 5);
  const rowBytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  for (let r = 0; r < rows; r++) {
    // Pass 1: the row maximum.
    let mx = f32x4.splat(-Infinity);
    let off: usize = 0;
    for (; off < vecBytes; off += 16) {
      let v = v128.load(x + off);
      if (withBias) v = f32x4.add(v, v128.load(bias + off));
      mx = f32x4.pmax(mx, v);
    }
    let m = hmax(mx);
    for (; off < rowBytes; off += 4) {
      let s = load<f32>(x + off);
      if (withBias) s += load<f32>(bias + off);
      if (s > m) m = s;
    }
    // Pass 2: y = e^(x − max) and the row sum.
    const vm = f32x4.splat(m);
    let sum = f32x4.splat(0);
    for (off = 0; off < vecBytes; off += 16) {
      let v = v128.load(x + off);
      if (withBias) v = f32x4.add(v, v128.load(bias + off));
      const e = expv(f32x4.sub(v, vm), lo, log2e, magic, ln2hi, ln2lo, p0, p1, p2, p3, p4, p5, one);
      sum = f32x4.add(sum, e);
      v128.store(y + off, e);
    }
    let total = hsum(sum);
    for (; off < rowBytes; off += 4) {
      let s = load<f32>(x + off);
      if (withBias) s += load<f32>(bias + off);
      const e = f32x4.extract_lane(
        expv(f32x4.splat(s - m), lo, log2e, magic, ln2hi, ln2lo, p0, p1, p2, p3, p4, p5, one), 0);
      total += e;
      store<f32>(y + off, e);
    }
    // Pass 3: normalise.
    const inv: f32 = 1 / total;
    const vinv = f32x4.splat(inv);
    for (off = 0; off < vecBytes; off += 16) v128.store(y + off, f32x4.mul(v128.load(y + off), vinv));
    for (; off < rowBytes; off += 4) store<f32>(y + off, load<f32>(y + off) * inv);
    x += rowBytes;
    y += rowBytes;
  }
}

// One function per activation, each with a loop specialised per bias mode: small functions keep
// TurboFan's register allocation clean (one function holding every variant ran 2–3× slower).
@inline function perBiasMode(act: i32, mode: i32, x: usize, bias: usize, y: usize, rows: i32, n: i32, tmp: usize): void {
  if (mode == BIAS_ROW) rowsElementwise(act, BIAS_ROW, x, bias, y, rows, n, tmp);
  else if (mode == BIAS_SPLAT) rowsElementwise(act, BIAS_SPLAT, x, bias, y, rows, n, tmp);
  else rowsElementwise(act, BIAS_NONE, x, bias, y, rows, n, tmp);
}
function sigmoidRows(mode: i32, x: usize, bias: usize, y: usize, rows: i32, n: i32, tmp: usize): void {
  perBiasMode(SIGMOID, mode, x, bias, y, rows, n, tmp);
}
function tanhRows(mode: i32, x: usize, bias: usize, y: usize, rows: i32, n: i32, tmp: usize): void {
  perBiasMode(TANH, mode, x, bias, y, rows, n, tmp);
}
function reluRows(mode: i32, x: usize, bias: usize, y: usize, rows: i32, n: i32, tmp: usize): void {
  perBiasMode(RELU, mode, x, bias, y, rows, n, tmp);
}
function leakyReluRows(mode: i32, x: usize, bias: usize, y: usize, rows: i32, n: i32, tmp: usize): void {
  perBiasMode(LEAKY_RELU, mode, x, bias, y, rows, n, tmp);
}
function linearRows(mode: i32, x: usize, bias: usize, y: usize, rows: i32, n: i32, tmp: usize): void {
  if (mode == BIAS_ROW) rowsElementwise(LINEAR, BIAS_ROW, x, bias, y, rows, n, tmp);
  else if (mode == BIAS_SPLAT) rowsElementwise(LINEAR, BIAS_SPLAT, x, bias, y, rows, n, tmp);
  else if (x != y) memory.copy(y, x, <usize>(rows * n) << 2);
}
function softmaxRows(mode: i32, x: usize, bias: usize, y: usize, rows: i32, n: i32): void {
  if (mode == BIAS_NONE) rowsSoftmax(false, x, bias, y, rows, n);
  else rowsSoftmax(true, x, bias, y, rows, n);
}

function dispatch(act: i32, mode: i32, x: usize, bias: usize, y: usize, m: i32, n: i32, tmp: usize): void {
  // Without a bias (or with one column) the block is one flat vector.
  const flat = act != SOFTMAX && mode != BIAS_ROW;
  const rows = flat ? 1 : m;
  const cols = flat ? m * n : n;
  switch (act) {
    case SIGMOID: sigmoidRows(mode, x, bias, y, rows, cols, tmp); break;
    case TANH: tanhRows(mode, x, bias, y, rows, cols, tmp); break;
    case RELU: reluRows(mode, x, bias, y, rows, cols, tmp); break;
    case LEAKY_RELU: leakyReluRows(mode, x, bias, y, rows, cols, tmp); break;
    case SOFTMAX: softmaxRows(mode, x, bias, y, rows, cols); break;
    default: linearRows(mode, x, bias, y, rows, cols, tmp);
  }
}

/** y = g(x) over an m×n row-major block; softmax is per row. y may alias x. tmp: the tmpFloats() slot. */
export function activation(act: i32, x: usize, y: usize, m: i32, n: i32, alpha: f32, tmp: usize): void {
  store<f32>(tmp, alpha);
  dispatch(act, BIAS_NONE, x, 0, y, m, n, tmp);
}

/**
 * y[i][j] = g(x[i][j] + bias[j]) in one pass over an m×n block (bias has n floats); y may alias x,
 * x is otherwise untouched. tmp: the tmpFloats() slot.
 */
export function biasActivation(
  act: i32, x: usize, bias: usize, y: usize, m: i32, n: i32, alpha: f32, tmp: usize,
): void {
  store<f32>(tmp, alpha);
  dispatch(act, n == 1 ? BIAS_SPLAT : BIAS_ROW, x, bias, y, m, n, tmp);
}

@inline function backwardElementwise(act: i32, a: usize, dA: usize, dZ: usize, count: i32, tmp: usize): void {
  const zero = kv(ZERO);
  const one = kv(ONE);
  const alpha = v128.load32_splat(tmp);
  const bytes = <usize>count << 2;
  const vecBytes = <usize>(count & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    v128.store(dZ + off, derivv(act, v128.load(a + off), v128.load(dA + off), alpha, one, zero));
  }
  for (; off < bytes; off += 4) {
    const v = derivv(act, f32x4.splat(load<f32>(a + off)), f32x4.splat(load<f32>(dA + off)), alpha, one, zero);
    store<f32>(dZ + off, f32x4.extract_lane(v, 0));
  }
}

/** Softmax rows: dz = a ⊙ (dA − Σ_j dA_j a_j). */
function backwardSoftmax(a: usize, dA: usize, dZ: usize, m: i32, n: i32): void {
  const rowBytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  for (let r = 0; r < m; r++) {
    let acc = f32x4.splat(0);
    let off: usize = 0;
    for (; off < vecBytes; off += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(a + off), v128.load(dA + off)));
    let dot = hsum(acc);
    for (; off < rowBytes; off += 4) dot += load<f32>(a + off) * load<f32>(dA + off);
    const vdot = f32x4.splat(dot);
    for (off = 0; off < vecBytes; off += 16) {
      v128.store(dZ + off, f32x4.mul(v128.load(a + off), f32x4.sub(v128.load(dA + off), vdot)));
    }
    for (; off < rowBytes; off += 4) store<f32>(dZ + off, load<f32>(a + off) * (load<f32>(dA + off) - dot));
    a += rowBytes;
    dA += rowBytes;
    dZ += rowBytes;
  }
}

/**
 * dZ = dA ⊙ g'(Z) over an m×n block, with g' written from the forward output a = g(z):
 * sigmoid a(1−a), tanh 1−a², relu [a>0], leakyRelu a>0 ? 1 : alpha, linear 1, softmax per row.
 * dZ may alias dA (not a). tmp: the tmpFloats() slot.
 */
export function activationBackward(
  act: i32, a: usize, dA: usize, dZ: usize, m: i32, n: i32, alpha: f32, tmp: usize,
): void {
  store<f32>(tmp, alpha);
  const count = m * n;
  switch (act) {
    case SIGMOID: backwardElementwise(SIGMOID, a, dA, dZ, count, tmp); break;
    case TANH: backwardElementwise(TANH, a, dA, dZ, count, tmp); break;
    case RELU: backwardElementwise(RELU, a, dA, dZ, count, tmp); break;
    case LEAKY_RELU: backwardElementwise(LEAKY_RELU, a, dA, dZ, count, tmp); break;
    case SOFTMAX: backwardSoftmax(a, dA, dZ, m, n); break;
    default: if (dA != dZ) memory.copy(dZ, dA, <usize>count << 2);
  }
}
