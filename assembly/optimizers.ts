// Optimizer updates, in place over n parameters (any slice of the parameter block).
// l2 couples weight decay into the gradient first: g' = g + l2·w.
// Hyper-parameters are folded in f64 (bias corrections), rounded to f32 once, written to the
// caller's `tmp` slot (tmpFloats()) and loaded back as splats: V8 would rebuild a splat of a function
// parameter inside the loop, but keeps a loaded vector in a register.
//
// Subnormal floats. The optimizer state (momentum's m, Adam's m and v) is stored flushed to zero:
// a value whose magnitude is below the smallest normal float, 2^-126 ≈ 1.17549435e-38, is stored as
// +0. Where a gradient has become exactly 0 (a dead ReLU unit, an input that is always 0), the state
// decays by β every step into the subnormal range, and rounding can hold it there for good
// (0.9 × 4·2^-149 rounds back to 4·2^-149). x86 runs arithmetic on subnormals through microcode,
// tens of times slower, and WebAssembly has no flush-to-zero mode: a long run's Adam updates slowed
// down that much once half of m had decayed that far (bench/subnormals.ts counts subnormals per
// buffer and times each kernel). The update uses the flushed values, so it reads no subnormal
// either. src/backend/js.ts flushes by the same rules.
//
// With l2 > 0 the weights are flushed too: weight decay shrinks a weight whose gradient stays 0
// geometrically (without l2 nothing does). Below 2^-126/l2 its decay term l2·w is subnormal, so the
// weight is stored as 0 there (below 2^-126 for l2 ≥ 1): where only 2^-126 was the threshold, the
// weights of units that strong weight decay had shut down hovered just above it, their l2·w and
// their products in the forward and backward passes subnormal, and training with momentum ran 10
// to 20 times slower (l2 = 0.3 in bench/subnormals.ts). The flush costs nothing more, only another
// threshold.
//
// The flush adds three vector operations for m (two for v, which is ≥ 0), and these loops are
// limited by vector arithmetic, not memory, while their arrays fit in cache. With l2 = 0 (the
// default) a loop without the l2 term pays for that, and Adam also folds its bias corrections into
// two constants.

// The flush as bit patterns: |x| is x & 0x7fffffff, and |x| < 2^-126 exactly when those bits, as
// an integer, are below 0x00800000 (2^-126's). An integer compare does no float arithmetic on the
// subnormal itself; NaN and ±Infinity lie above the threshold and pass unchanged.
const FLUSH = memory.data<i32>([0x7fffffff, 0x00800000], 16);
const ABS_MASK = 0;
const MIN_NORMAL = 4;

/**
 * x with its lanes of magnitude below `floor` (a positive float's splat: 2^-126 for the subnormal
 * ones) and −0 replaced by +0; absMask is FLUSH's splat.
 */
@inline function flushv(x: v128, absMask: v128, floor: v128): v128 {
  return v128.andnot(x, i32x4.lt_s(v128.and(x, absMask), floor));
}

/** The magnitude below which l2 > 0 flushes a weight: where l2·w would be subnormal. */
@inline function weightFloor(l2: f64): f32 {
  return <f32>(reinterpret<f32>(0x00800000) / Math.min(l2, 1));
}

/** flushv for x ≥ 0 (or NaN, which passes): one float compare, no absolute value. */
@inline function flushNonNegativev(x: v128, minNormal: v128): v128 {
  return v128.andnot(x, f32x4.lt(x, minNormal));
}

/**
 * w ← w − lr·(g + l2·w). With l2 > 0, w is stored as 0 below 2^-126/l2 (see above): weight decay
 * shrinks a weight whose gradient stays 0 by the factor 1 − lr·l2 every step. w and g must not alias.
 */
export function sgd(w: usize, g: usize, n: i32, lr: f64, l2: f64, tmp: usize): void {
  store<f32>(tmp, <f32>lr);
  store<f32>(tmp, <f32>l2, 4);
  store<f32>(tmp, weightFloor(l2), 8);
  if (l2 != 0) { // two loops, as in momentum
    sgdLoop(true, w, g, n, tmp);
    return;
  }
  sgdLoop(false, w, g, n, tmp);
}

@inline function sgdLoop(coupled: bool, w: usize, g: usize, n: i32, tmp: usize): void {
  const vlr = v128.load32_splat(tmp), vl2 = v128.load32_splat(tmp, 4);
  const absMask = v128.load32_splat(FLUSH, ABS_MASK), wFloor = v128.load32_splat(tmp, 8);
  const end = w + (<usize>n << 2);
  const vecEnd = w + (<usize>(n & ~3) << 2);
  for (; w < vecEnd; w += 16, g += 16) sgdAt(coupled, false, w, g, vlr, vl2, absMask, wFloor);
  for (; w < end; w += 4, g += 4) sgdAt(coupled, true, w, g, vlr, vl2, absMask, wFloor);
}

/** sgd's update of the 4 parameters at w (one: of the float at w, in lane 0). */
@inline function sgdAt(coupled: bool, one: bool, w: usize, g: usize, vlr: v128, vl2: v128, absMask: v128, wFloor: v128): void {
  const wv = one ? v128.load32_splat(w) : v128.load(w);
  const gv = one ? v128.load32_splat(g) : v128.load(g);
  const nw = coupled
    ? flushv(f32x4.sub(wv, f32x4.mul(vlr, f32x4.add(gv, f32x4.mul(vl2, wv)))), absMask, wFloor)
    : f32x4.sub(wv, f32x4.mul(vlr, gv));
  if (one) v128.store32_lane(w, nw, 0);
  else v128.store(w, nw);
}

/**
 * Momentum with bias correction: m ← β·m + (1−β)·g'; w ← w − lr·m/(1−βᵗ), t ≥ 1 the step count.
 * m is stored flushed to zero, and with l2 > 0 w below 2^-126/l2 as 0. w, g and mom must not alias.
 */
export function momentum(
  w: usize, g: usize, mom: usize, n: i32, lr: f64, beta: f64, t: f64, l2: f64, tmp: usize,
): void {
  store<f32>(tmp, <f32>(lr / (1 - Math.pow(beta, t))));
  store<f32>(tmp, <f32>beta, 4);
  store<f32>(tmp, <f32>(1 - beta), 8);
  store<f32>(tmp, <f32>l2, 12);
  store<f32>(tmp, weightFloor(l2), 16);
  // Two loops, one without the l2 term; the early return keeps Binaryen from merging them back
  // into one loop that selects between the two gradients.
  if (l2 != 0) {
    momentumLoop(true, w, g, mom, n, tmp);
    return;
  }
  momentumLoop(false, w, g, mom, n, tmp);
}

@inline function momentumLoop(coupled: bool, w: usize, g: usize, mom: usize, n: i32, tmp: usize): void {
  const vstep = v128.load32_splat(tmp), vb = v128.load32_splat(tmp, 4);
  const vib = v128.load32_splat(tmp, 8), vl2 = v128.load32_splat(tmp, 12);
  const absMask = v128.load32_splat(FLUSH, ABS_MASK), minNormal = v128.load32_splat(FLUSH, MIN_NORMAL);
  const wFloor = v128.load32_splat(tmp, 16);
  // The pointers move rather than share an offset: fewer live registers, none reloaded per pass.
  // Two vectors a pass halve the loop's own instructions, which compete with the arithmetic.
  const end = w + (<usize>n << 2);
  const pairEnd = w + (<usize>(n & ~7) << 2);
  const vecEnd = w + (<usize>(n & ~3) << 2);
  for (; w < pairEnd; w += 32, g += 32, mom += 32) {
    momentumAt(coupled, false, w, g, mom, vstep, vb, vib, vl2, absMask, minNormal, wFloor);
    momentumAt(coupled, false, w + 16, g + 16, mom + 16, vstep, vb, vib, vl2, absMask, minNormal, wFloor);
  }
  for (; w < vecEnd; w += 16, g += 16, mom += 16) {
    momentumAt(coupled, false, w, g, mom, vstep, vb, vib, vl2, absMask, minNormal, wFloor);
  }
  // The last n % 4 parameters one at a time, through the same vector code.
  for (; w < end; w += 4, g += 4, mom += 4) {
    momentumAt(coupled, true, w, g, mom, vstep, vb, vib, vl2, absMask, minNormal, wFloor);
  }
}

/** momentum's update of the 4 parameters at w (one: of the float at w, in lane 0). */
@inline function momentumAt(
  coupled: bool, one: bool, w: usize, g: usize, mom: usize,
  vstep: v128, vb: v128, vib: v128, vl2: v128, absMask: v128, minNormal: v128, wFloor: v128,
): void {
  const wv = one ? v128.load32_splat(w) : v128.load(w);
  let gv = one ? v128.load32_splat(g) : v128.load(g);
  if (coupled) gv = f32x4.add(gv, f32x4.mul(vl2, wv));
  const mv = flushv(f32x4.add(f32x4.mul(vb, one ? v128.load32_splat(mom) : v128.load(mom)), f32x4.mul(vib, gv)), absMask, minNormal);
  let nw = f32x4.sub(wv, f32x4.mul(vstep, mv));
  if (coupled) nw = flushv(nw, absMask, wFloor);
  if (one) {
    v128.store32_lane(mom, mv, 0);
    v128.store32_lane(w, nw, 0);
  } else {
    v128.store(mom, mv);
    v128.store(w, nw);
  }
}

/**
 * Adam: m ← β1·m + (1−β1)·g'; v ← β2·v + (1−β2)·g'²; w ← w − lr·m̂/(√v̂ + ε) with
 * m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ), t ≥ 1 the step count. m and v are stored flushed to zero,
 * and with l2 > 0 w below 2^-126/l2 as 0. w, g, m and v must not alias.
 *
 * The step is computed as m/(√v·a + b) with a = √c2·(1−β1ᵗ)/lr, b = ε·(1−β1ᵗ)/lr and
 * c2 = 1/(1−β2ᵗ): the same value, lr·m̂/(√v̂ + ε), in two operations fewer per vector. Dividing m
 * last also keeps a small m's step from passing through the subnormal range: with √v̂ + ε below
 * lr/(1−β1ᵗ), as it is for a parameter whose gradient has become 0, the quotient is larger than m,
 * whereas m·lr would not be (and each subnormal product would cost a microcode assist for the
 * tens of steps that m takes to decay from 2^-116 to 2^-126).
 */
export function adam(
  w: usize, g: usize, m: usize, v: usize, n: i32,
  lr: f64, beta1: f64, beta2: f64, epsilon: f64, t: f64, l2: f64, tmp: usize,
): void {
  const scale = (1 - Math.pow(beta1, t)) / lr;
  store<f32>(tmp, <f32>beta1);
  store<f32>(tmp, <f32>(1 - beta1), 4);
  store<f32>(tmp, <f32>beta2, 8);
  store<f32>(tmp, <f32>(1 - beta2), 12);
  store<f32>(tmp, <f32>(Math.sqrt(1 / (1 - Math.pow(beta2, t))) * scale), 16);
  store<f32>(tmp, <f32>(epsilon * scale), 20);
  store<f32>(tmp, <f32>l2, 24);
  store<f32>(tmp, weightFloor(l2), 28);
  if (l2 != 0) { // as in momentum
    adamLoop(true, w, g, m, v, n, tmp);
    return;
  }
  adamLoop(false, w, g, m, v, n, tmp);
}

@inline function adamLoop(coupled: bool, w: usize, g: usize, m: usize, v: usize, n: i32, tmp: usize): void {
  const vb1 = v128.load32_splat(tmp), vib1 = v128.load32_splat(tmp, 4);
  const vb2 = v128.load32_splat(tmp, 8), vib2 = v128.load32_splat(tmp, 12);
  const va = v128.load32_splat(tmp, 16), vbias = v128.load32_splat(tmp, 20);
  const vl2 = v128.load32_splat(tmp, 24), wFloor = v128.load32_splat(tmp, 28);
  const absMask = v128.load32_splat(FLUSH, ABS_MASK), minNormal = v128.load32_splat(FLUSH, MIN_NORMAL);
  const end = w + (<usize>n << 2); // loops as in momentum
  const pairEnd = w + (<usize>(n & ~7) << 2);
  const vecEnd = w + (<usize>(n & ~3) << 2);
  for (; w < pairEnd; w += 32, g += 32, m += 32, v += 32) {
    adamAt(coupled, false, w, g, m, v, vb1, vib1, vb2, vib2, va, vbias, vl2, absMask, minNormal, wFloor);
    adamAt(coupled, false, w + 16, g + 16, m + 16, v + 16, vb1, vib1, vb2, vib2, va, vbias, vl2, absMask, minNormal, wFloor);
  }
  for (; w < vecEnd; w += 16, g += 16, m += 16, v += 16) {
    adamAt(coupled, false, w, g, m, v, vb1, vib1, vb2, vib2, va, vbias, vl2, absMask, minNormal, wFloor);
  }
  for (; w < end; w += 4, g += 4, m += 4, v += 4) {
    adamAt(coupled, true, w, g, m, v, vb1, vib1, vb2, vib2, va, vbias, vl2, absMask, minNormal, wFloor);
  }
}

/** adam's update of the 4 parameters at w (one: of the float at w, in lane 0). */
@inline function adamAt(
  coupled: bool, one: bool, w: usize, g: usize, m: usize, v: usize,
  vb1: v128, vib1: v128, vb2: v128, vib2: v128, va: v128, vbias: v128, vl2: v128,
  absMask: v128, minNormal: v128, wFloor: v128,
): void {
  const wv = one ? v128.load32_splat(w) : v128.load(w);
  let gv = one ? v128.load32_splat(g) : v128.load(g);
  if (coupled) gv = f32x4.add(gv, f32x4.mul(vl2, wv));
  const m0 = one ? v128.load32_splat(m) : v128.load(m);
  const v0 = one ? v128.load32_splat(v) : v128.load(v);
  const mv = flushv(f32x4.add(f32x4.mul(vb1, m0), f32x4.mul(vib1, gv)), absMask, minNormal);
  const vv = flushNonNegativev(f32x4.add(f32x4.mul(vb2, v0), f32x4.mul(vib2, f32x4.mul(gv, gv))), minNormal);
  let nw = f32x4.sub(wv, f32x4.div(mv, f32x4.add(f32x4.mul(f32x4.sqrt(vv), va), vbias)));
  if (coupled) nw = flushv(nw, absMask, wFloor);
  if (one) {
    v128.store32_lane(m, mv, 0);
    v128.store32_lane(v, vv, 0);
    v128.store32_lane(w, nw, 0);
  } else {
    v128.store(m, mv);
    v128.store(v, vv);
    v128.store(w, nw);
  }
}
