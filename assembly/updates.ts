// The optimizers of TensorFlow.js and Keras beside optimizers.ts's: SGD with classical or Nesterov
// momentum, RMSProp (plain or centered, with or without momentum), Adagrad and AdamW; and the
// gradient clipping kernels. In place over n parameters (any slice of the parameter block), as in
// optimizers.ts: hyper-parameters are rounded to f32 once, written to the caller's `tmp` slot
// (tmpFloats()) and loaded back as splats before the loops.
//
// The state these kernels write is stored flushed to zero: a value whose magnitude is below the
// smallest normal float, 2^-126 ≈ 1.17549435e-38, is stored as +0 (an accumulator that decays by
// a factor every step where its gradient stays 0 would otherwise sink into the subnormal range,
// where x86 arithmetic is tens of times slower). The update uses the flushed value.
// src/backend/js.ts flushes the same values.

const MIN_NORMAL = memory.data<f32>([1.17549435e-38, 1.17549435e-38, 1.17549435e-38, 1.17549435e-38], 16);

/** x, or +0 where |x| is below the smallest normal float (−0 included); NaN passes. */
@inline function flushv(x: v128, minNormal: v128): v128 {
  return v128.andnot(x, f32x4.lt(f32x4.abs(x), minNormal));
}

@inline function flush(x: f32): f32 {
  return abs(x) < <f32>1.17549435e-38 ? 0 : x;
}

/**
 * SGD with momentum as tf.train.momentum: acc ← μ·acc + g'; w ← w − lr·acc, or with Nesterov
 * w ← w − lr·(g' + μ·acc); g' = g + l2·w. acc is stored flushed. w, g and acc must not alias.
 */
export function sgdMomentum(w: usize, g: usize, acc: usize, n: i32, lr: f64, mu: f64, nesterov: i32, l2: f64, tmp: usize): void {
  store<f32>(tmp, <f32>lr);
  store<f32>(tmp, <f32>mu, 4);
  store<f32>(tmp, <f32>l2, 8);
  if (l2 != 0) {
    if (nesterov != 0) sgdMomentumLoop(true, true, w, g, acc, n, tmp);
    else sgdMomentumLoop(false, true, w, g, acc, n, tmp);
  } else if (nesterov != 0) {
    sgdMomentumLoop(true, false, w, g, acc, n, tmp);
  } else {
    sgdMomentumLoop(false, false, w, g, acc, n, tmp);
  }
}

@inline function sgdMomentumLoop(nesterov: bool, coupled: bool, w: usize, g: usize, acc: usize, n: i32, tmp: usize): void {
  const vlr = v128.load32_splat(tmp), vmu = v128.load32_splat(tmp, 4), vl2 = v128.load32_splat(tmp, 8);
  const vmin = v128.load(MIN_NORMAL);
  const lr = load<f32>(tmp), mu = load<f32>(tmp, 4), l2 = load<f32>(tmp, 8);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const wv = v128.load(w + off);
    let gv = v128.load(g + off);
    if (coupled) gv = f32x4.add(gv, f32x4.mul(vl2, wv));
    const av = flushv(f32x4.add(f32x4.mul(vmu, v128.load(acc + off)), gv), vmin);
    v128.store(acc + off, av);
    const step = nesterov ? f32x4.add(gv, f32x4.mul(vmu, av)) : av;
    v128.store(w + off, f32x4.sub(wv, f32x4.mul(vlr, step)));
  }
  for (; off < bytes; off += 4) {
    const wv = load<f32>(w + off);
    let gv = load<f32>(g + off);
    if (coupled) gv += l2 * wv;
    const av = flush(mu * load<f32>(acc + off) + gv);
    store<f32>(acc + off, av);
    const step = nesterov ? gv + mu * av : av;
    store<f32>(w + off, wv - lr * step);
  }
}

/**
 * RMSProp as tf.train.rmsprop: ms ← ρ·ms + (1−ρ)·g²; d = √(ms + ε), or centered, with
 * mg ← ρ·mg + (1−ρ)·g, d = √(ms − mg² + ε); with momentum μ > 0, mom ← μ·mom + lr·g/d and
 * w ← w − mom, else w ← w − lr·g/d. ms, mg and mom are stored flushed; mom and mg are only read
 * and written when used. No two of the buffers may alias.
 */
export function rmsprop(
  w: usize, g: usize, ms: usize, mom: usize, mg: usize, n: i32,
  lr: f64, rho: f64, epsilon: f64, mu: f64, centered: i32, tmp: usize,
): void {
  store<f32>(tmp, <f32>lr);
  store<f32>(tmp, <f32>rho, 4);
  store<f32>(tmp, <f32>(1 - rho), 8);
  store<f32>(tmp, <f32>epsilon, 12);
  store<f32>(tmp, <f32>mu, 16);
  if (centered != 0) {
    if (mu != 0) rmspropLoop(true, true, w, g, ms, mom, mg, n, tmp);
    else rmspropLoop(true, false, w, g, ms, mom, mg, n, tmp);
  } else if (mu != 0) {
    rmspropLoop(false, true, w, g, ms, mom, mg, n, tmp);
  } else {
    rmspropLoop(false, false, w, g, ms, mom, mg, n, tmp);
  }
}

@inline function rmspropLoop(
  centered: bool, withMomentum: bool, w: usize, g: usize, ms: usize, mom: usize, mg: usize, n: i32, tmp: usize,
): void {
  const vlr = v128.load32_splat(tmp), vrho = v128.load32_splat(tmp, 4), virho = v128.load32_splat(tmp, 8);
  const veps = v128.load32_splat(tmp, 12), vmu = v128.load32_splat(tmp, 16);
  const vmin = v128.load(MIN_NORMAL);
  const lr = load<f32>(tmp), rho = load<f32>(tmp, 4), irho = load<f32>(tmp, 8);
  const eps = load<f32>(tmp, 12), mu = load<f32>(tmp, 16);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const gv = v128.load(g + off);
    const msv = flushv(f32x4.add(f32x4.mul(v128.load(ms + off), vrho), f32x4.mul(f32x4.mul(gv, gv), virho)), vmin);
    v128.store(ms + off, msv);
    let inner = msv;
    if (centered) {
      const mgv = flushv(f32x4.add(f32x4.mul(v128.load(mg + off), vrho), f32x4.mul(gv, virho)), vmin);
      v128.store(mg + off, mgv);
      inner = f32x4.sub(msv, f32x4.mul(mgv, mgv));
    }
    const step = f32x4.div(f32x4.mul(gv, vlr), f32x4.sqrt(f32x4.add(inner, veps)));
    if (withMomentum) {
      const mv = flushv(f32x4.add(f32x4.mul(v128.load(mom + off), vmu), step), vmin);
      v128.store(mom + off, mv);
      v128.store(w + off, f32x4.sub(v128.load(w + off), mv));
    } else {
      v128.store(w + off, f32x4.sub(v128.load(w + off), step));
    }
  }
  for (; off < bytes; off += 4) {
    const gv = load<f32>(g + off);
    const msv = flush(load<f32>(ms + off) * rho + gv * gv * irho);
    store<f32>(ms + off, msv);
    let inner = msv;
    if (centered) {
      const mgv = flush(load<f32>(mg + off) * rho + gv * irho);
      store<f32>(mg + off, mgv);
      inner = msv - mgv * mgv;
    }
    const step = (gv * lr) / Mathf.sqrt(inner + eps);
    if (withMomentum) {
      const mv = flush(load<f32>(mom + off) * mu + step);
      store<f32>(mom + off, mv);
      store<f32>(w + off, load<f32>(w + off) - mv);
    } else {
      store<f32>(w + off, load<f32>(w + off) - step);
    }
  }
}

/**
 * Adagrad as tf.train.adagrad: acc ← acc + g²; w ← w − lr·g/√(acc + ε). acc (which the caller
 * starts at the initial accumulator value) is stored flushed. w, g and acc must not alias.
 */
export function adagrad(w: usize, g: usize, acc: usize, n: i32, lr: f64, epsilon: f64, tmp: usize): void {
  store<f32>(tmp, <f32>lr);
  store<f32>(tmp, <f32>epsilon, 4);
  const vlr = v128.load32_splat(tmp), veps = v128.load32_splat(tmp, 4);
  const vmin = v128.load(MIN_NORMAL);
  const lr32 = <f32>lr, eps = <f32>epsilon;
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const gv = v128.load(g + off);
    const av = flushv(f32x4.add(v128.load(acc + off), f32x4.mul(gv, gv)), vmin);
    v128.store(acc + off, av);
    v128.store(w + off, f32x4.sub(v128.load(w + off), f32x4.mul(f32x4.div(gv, f32x4.sqrt(f32x4.add(av, veps))), vlr)));
  }
  for (; off < bytes; off += 4) {
    const gv = load<f32>(g + off);
    const av = flush(load<f32>(acc + off) + gv * gv);
    store<f32>(acc + off, av);
    store<f32>(w + off, load<f32>(w + off) - (gv / Mathf.sqrt(av + eps)) * lr32);
  }
}

/**
 * AdamW (Loshchilov & Hutter), as Keras: Adam's m and v, and the weight decay decoupled from
 * them, w ← w − lr·wd·w − lr·m̂/(√v̂ + ε), m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ), t ≥ 1. m and v are stored
 * flushed. w, g, m and v must not alias.
 */
export function adamw(
  w: usize, g: usize, m: usize, v: usize, n: i32,
  lr: f64, beta1: f64, beta2: f64, epsilon: f64, weightDecay: f64, t: f64, tmp: usize,
): void {
  store<f32>(tmp, <f32>beta1);
  store<f32>(tmp, <f32>(1 - beta1), 4);
  store<f32>(tmp, <f32>beta2, 8);
  store<f32>(tmp, <f32>(1 - beta2), 12);
  store<f32>(tmp, <f32>(1 / (1 - Math.pow(beta1, t))), 16);
  store<f32>(tmp, <f32>(1 / (1 - Math.pow(beta2, t))), 20);
  store<f32>(tmp, <f32>lr, 24);
  store<f32>(tmp, <f32>epsilon, 28);
  store<f32>(tmp, <f32>(lr * weightDecay), 32);
  const vb1 = v128.load32_splat(tmp), vib1 = v128.load32_splat(tmp, 4);
  const vb2 = v128.load32_splat(tmp, 8), vib2 = v128.load32_splat(tmp, 12);
  const vc1 = v128.load32_splat(tmp, 16), vc2 = v128.load32_splat(tmp, 20);
  const vlr = v128.load32_splat(tmp, 24), veps = v128.load32_splat(tmp, 28);
  const vdecay = v128.load32_splat(tmp, 32);
  const vmin = v128.load(MIN_NORMAL);
  const b1 = load<f32>(tmp), ib1 = load<f32>(tmp, 4), b2 = load<f32>(tmp, 8), ib2 = load<f32>(tmp, 12);
  const c1 = load<f32>(tmp, 16), c2 = load<f32>(tmp, 20), slr = load<f32>(tmp, 24), eps = load<f32>(tmp, 28);
  const decay = load<f32>(tmp, 32);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const wv = v128.load(w + off);
    const gv = v128.load(g + off);
    const mv = flushv(f32x4.add(f32x4.mul(vb1, v128.load(m + off)), f32x4.mul(vib1, gv)), vmin);
    const vv = flushv(f32x4.add(f32x4.mul(vb2, v128.load(v + off)), f32x4.mul(vib2, f32x4.mul(gv, gv))), vmin);
    v128.store(m + off, mv);
    v128.store(v + off, vv);
    const denom = f32x4.add(f32x4.sqrt(f32x4.mul(vv, vc2)), veps);
    const step = f32x4.div(f32x4.mul(vlr, f32x4.mul(mv, vc1)), denom);
    v128.store(w + off, f32x4.sub(f32x4.sub(wv, f32x4.mul(vdecay, wv)), step));
  }
  for (; off < bytes; off += 4) {
    const wv = load<f32>(w + off);
    const gv = load<f32>(g + off);
    const mv = flush(b1 * load<f32>(m + off) + ib1 * gv);
    const vv = flush(b2 * load<f32>(v + off) + ib2 * (gv * gv));
    store<f32>(m + off, mv);
    store<f32>(v + off, vv);
    store<f32>(w + off, (wv - decay * wv) - (slr * (mv * c1)) / (Mathf.sqrt(vv * c2) + eps));
  }
}

// --- Gradient clipping --------------------------------------------------------------------------

/**
 * out[0] = Σ x[i]² over n floats, accumulated in f64 (two f64x2 sums) and rounded to f32 once: the
 * squared global norm that clipNorm compares. A range of the gradient span gives a partial sum.
 */
export function sumSquares(x: usize, n: i32, out: usize): void {
  let lo = f64x2.splat(0), hi = f64x2.splat(0);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const v = v128.load(x + off);
    const a = f64x2.promote_low_f32x4(v);
    const b = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    lo = f64x2.add(lo, f64x2.mul(a, a));
    hi = f64x2.add(hi, f64x2.mul(b, b));
  }
  const s = f64x2.add(lo, hi);
  let sum = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; off < bytes; off += 4) {
    const v = <f64>load<f32>(x + off);
    sum += v * v;
  }
  store<f32>(out, <f32>sum);
}

/** x[i] ← s·x[i] over n floats (clipNorm's rescaling). */
export function scaleInPlace(x: usize, n: i32, s: f32, tmp: usize): void {
  store<f32>(tmp, s);
  const vs = v128.load32_splat(tmp);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) v128.store(x + off, f32x4.mul(v128.load(x + off), vs));
  for (; off < bytes; off += 4) store<f32>(x + off, load<f32>(x + off) * s);
}

/** x[i] ← min(max(x[i], −c), c) over n floats (clipValue); NaN passes. */
export function clampInPlace(x: usize, n: i32, c: f32, tmp: usize): void {
  store<f32>(tmp, c);
  store<f32>(tmp, -c, 4);
  const vc = v128.load32_splat(tmp), vnc = v128.load32_splat(tmp, 4);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  // pmax(a, b) is a < b ? b : a and pmin(a, b) is b < a ? b : a: a NaN in a is kept by both.
  for (; off < vecBytes; off += 16) v128.store(x + off, f32x4.pmin(f32x4.pmax(v128.load(x + off), vnc), vc));
  for (; off < bytes; off += 4) {
    const v = load<f32>(x + off);
    store<f32>(x + off, v < -c ? -c : v > c ? c : v);
  }
}

// --- Kernel regularization (Keras' L1L2) ---------------------------------------------------------

/** dw[i] += l1·sign(w[i]) + 2·l2·w[i] over n floats: the gradient of l1·Σ|w| + l2·Σw² (sign(0) = 0). */
export function regularizerGradient(w: usize, dw: usize, n: i32, l1: f32, l2: f32, tmp: usize): void {
  const l2x2 = <f32>2 * l2;
  store<f32>(tmp, l1);
  store<f32>(tmp, l2x2, 4);
  store<i32>(tmp, 0x80000000, 8);
  store<f32>(tmp, 0, 12);
  const vl1 = v128.load32_splat(tmp), vl2 = v128.load32_splat(tmp, 4);
  const sign = v128.load32_splat(tmp, 8), zero = v128.load32_splat(tmp, 12);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const wv = v128.load(w + off);
    // l1·sign(w): l1 with w's sign bit where w ≠ 0, else 0.
    const signed = v128.and(v128.or(vl1, v128.and(wv, sign)), f32x4.ne(wv, zero));
    v128.store(dw + off, f32x4.add(v128.load(dw + off), f32x4.add(signed, f32x4.mul(vl2, wv))));
  }
  for (; off < bytes; off += 4) {
    const wv = load<f32>(w + off);
    const s: f32 = wv > 0 ? l1 : wv < 0 ? -l1 : 0;
    store<f32>(dw + off, load<f32>(dw + off) + (s + l2x2 * wv));
  }
}

/** out[0] = Σ l1·|w[i]| + l2·w[i]² over n floats, summed in f64 and rounded to f32 once. */
export function regularizerPenalty(w: usize, n: i32, l1: f64, l2: f64, out: usize): void {
  let abs0 = f64x2.splat(0), sq0 = f64x2.splat(0);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const v = v128.load(w + off);
    const a = f64x2.promote_low_f32x4(v);
    const b = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    abs0 = f64x2.add(abs0, f64x2.add(f64x2.abs(a), f64x2.abs(b)));
    sq0 = f64x2.add(sq0, f64x2.add(f64x2.mul(a, a), f64x2.mul(b, b)));
  }
  let sumAbs = f64x2.extract_lane(abs0, 0) + f64x2.extract_lane(abs0, 1);
  let sumSq = f64x2.extract_lane(sq0, 0) + f64x2.extract_lane(sq0, 1);
  for (; off < bytes; off += 4) {
    const v = <f64>load<f32>(w + off);
    sumAbs += Math.abs(v);
    sumSq += v * v;
  }
  store<f32>(out, <f32>(l1 * sumAbs + l2 * sumSq));
}

// --- Dropout ---------------------------------------------------------------------------------------
//
// Inverted dropout with a counter-based mask: element i of layer `layer`'s output at optimizer step
// `step` is kept when the 32-bit hash of (seed, step, layer, i) — murmur3's finaliser of
// seed ⊕ step·φ ⊕ layer·c + i·c' — has its top 24 bits ≥ round(rate·2^24). The mask is never
// stored: the backward pass recomputes it, a replay of the same step draws the same mask, a model
// loaded with its step resumes exactly, and src/backend/js.ts computes the same bits. `first` is
// the index of the block's first element, so a range of it can be handed to another worker.

@inline function dropoutBase(seed: i32, step: i32, layer: i32): i32 {
  return seed ^ (step * <i32>0x9e3779b1) ^ (layer * <i32>0x85ebca77);
}

/** Keep flags (all ones or zeros per lane) of elements first + 0 … 3 from the hash. */
@inline function keepv(index: v128, base: v128, mixI: v128, mix1: v128, mix2: v128, thr: v128): v128 {
  let x = i32x4.add(base, i32x4.mul(index, mixI));
  x = v128.xor(x, i32x4.shr_u(x, 16));
  x = i32x4.mul(x, mix1);
  x = v128.xor(x, i32x4.shr_u(x, 13));
  x = i32x4.mul(x, mix2);
  x = v128.xor(x, i32x4.shr_u(x, 16));
  return i32x4.ge_u(i32x4.shr_u(x, 8), thr);
}

@inline function keeps(index: i32, base: i32, thr: u32): bool {
  let x = base + index * <i32>0x27d4eb2f;
  x ^= <i32>(<u32>x >> 16);
  x *= <i32>0x85ebca6b;
  x ^= <i32>(<u32>x >> 13);
  x *= <i32>0xc2b2ae35;
  x ^= <i32>(<u32>x >> 16);
  return (<u32>x >> 8) >= thr;
}

/**
 * y[i] = x[i]/(1 − rate) where element first + i is kept, else 0, over n floats (training's forward
 * step); y may alias x. With `backward` the same on the gradient (y = x allowed).
 */
export function dropout(x: usize, y: usize, n: i32, first: i32, rate: f64, seed: i32, step: i32, layer: i32, tmp: usize): void {
  const thr = <u32>Math.round(rate * 16777216);
  const scale = <f32>(1 / (1 - rate));
  const base = dropoutBase(seed, step, layer);
  store<f32>(tmp, scale);
  store<i32>(tmp, base, 4);
  store<i32>(tmp, 0x27d4eb2f, 8);
  store<i32>(tmp, 0x85ebca6b, 12);
  store<i32>(tmp, 0xc2b2ae35, 16);
  store<u32>(tmp, thr, 20);
  store<i32>(tmp, first, 24);
  store<i32>(tmp, first + 1, 28);
  store<i32>(tmp, first + 2, 32);
  store<i32>(tmp, first + 3, 36);
  store<i32>(tmp, 4, 40);
  const vscale = v128.load32_splat(tmp), vbase = v128.load32_splat(tmp, 4), mixI = v128.load32_splat(tmp, 8);
  const mix1 = v128.load32_splat(tmp, 12), mix2 = v128.load32_splat(tmp, 16), vthr = v128.load32_splat(tmp, 20);
  const four = v128.load32_splat(tmp, 40);
  let index = v128.load(tmp, 24);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const keep = keepv(index, vbase, mixI, mix1, mix2, vthr);
    v128.store(y + off, v128.and(f32x4.mul(v128.load(x + off), vscale), keep));
    index = i32x4.add(index, four);
  }
  for (let i = <i32>(off >> 2); i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, keeps(first + i, base, thr) ? load<f32>(x + o) * scale : 0);
  }
}
