// Optimizer updates, in place over n parameters (any slice of the parameter block).
// l2 couples weight decay into the gradient first: g' = g + l2·w.
// Hyper-parameters are folded in f64 (bias corrections), rounded to f32 once, written to the
// caller's `tmp` slot (tmpFloats()) and loaded back as splats: V8 would rebuild a splat of a function
// parameter inside the loop, but keeps a loaded vector in a register.

/** w ← w − lr·(g + l2·w). w and g must not alias. */
export function sgd(w: usize, g: usize, n: i32, lr: f64, l2: f64, tmp: usize): void {
  store<f32>(tmp, <f32>lr);
  store<f32>(tmp, <f32>l2, 4);
  const vlr = v128.load32_splat(tmp), vl2 = v128.load32_splat(tmp, 4);
  const slr = <f32>lr, sl2 = <f32>l2;
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const wv = v128.load(w + off);
    const gv = f32x4.add(v128.load(g + off), f32x4.mul(vl2, wv));
    v128.store(w + off, f32x4.sub(wv, f32x4.mul(vlr, gv)));
  }
  for (; off < bytes; off += 4) {
    const wv = load<f32>(w + off);
    store<f32>(w + off, wv - slr * (load<f32>(g + off) + sl2 * wv));
  }
}

/**
 * Momentum with bias correction: m ← β·m + (1−β)·g'; w ← w − lr·m/(1−βᵗ), t ≥ 1 the step count.
 * w, g and mom must not alias.
 */
export function momentum(
  w: usize, g: usize, mom: usize, n: i32, lr: f64, beta: f64, t: f64, l2: f64, tmp: usize,
): void {
  const step = <f32>(lr / (1 - Math.pow(beta, t)));
  const b = <f32>beta, ib = <f32>(1 - beta), sl2 = <f32>l2;
  store<f32>(tmp, step);
  store<f32>(tmp, b, 4);
  store<f32>(tmp, ib, 8);
  store<f32>(tmp, sl2, 12);
  const vstep = v128.load32_splat(tmp), vb = v128.load32_splat(tmp, 4);
  const vib = v128.load32_splat(tmp, 8), vl2 = v128.load32_splat(tmp, 12);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const wv = v128.load(w + off);
    const gv = f32x4.add(v128.load(g + off), f32x4.mul(vl2, wv));
    const mv = f32x4.add(f32x4.mul(vb, v128.load(mom + off)), f32x4.mul(vib, gv));
    v128.store(mom + off, mv);
    v128.store(w + off, f32x4.sub(wv, f32x4.mul(vstep, mv)));
  }
  for (; off < bytes; off += 4) {
    const wv = load<f32>(w + off);
    const gv = load<f32>(g + off) + sl2 * wv;
    const mv = b * load<f32>(mom + off) + ib * gv;
    store<f32>(mom + off, mv);
    store<f32>(w + off, wv - step * mv);
  }
}

/**
 * Adam: m ← β1·m + (1−β1)·g'; v ← β2·v + (1−β2)·g'²; w ← w − lr·m̂/(√v̂ + ε) with
 * m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ), t ≥ 1 the step count. w, g, m and v must not alias.
 */
export function adam(
  w: usize, g: usize, m: usize, v: usize, n: i32,
  lr: f64, beta1: f64, beta2: f64, epsilon: f64, t: f64, l2: f64, tmp: usize,
): void {
  const b1 = <f32>beta1, ib1 = <f32>(1 - beta1), b2 = <f32>beta2, ib2 = <f32>(1 - beta2);
  const c1 = <f32>(1 / (1 - Math.pow(beta1, t))), c2 = <f32>(1 / (1 - Math.pow(beta2, t)));
  const slr = <f32>lr, eps = <f32>epsilon, sl2 = <f32>l2;
  store<f32>(tmp, b1); store<f32>(tmp, ib1, 4); store<f32>(tmp, b2, 8); store<f32>(tmp, ib2, 12);
  store<f32>(tmp, c1, 16); store<f32>(tmp, c2, 20); store<f32>(tmp, slr, 24); store<f32>(tmp, eps, 28);
  store<f32>(tmp, sl2, 32);
  const vb1 = v128.load32_splat(tmp), vib1 = v128.load32_splat(tmp, 4);
  const vb2 = v128.load32_splat(tmp, 8), vib2 = v128.load32_splat(tmp, 12);
  const vc1 = v128.load32_splat(tmp, 16), vc2 = v128.load32_splat(tmp, 20);
  const vlr = v128.load32_splat(tmp, 24), veps = v128.load32_splat(tmp, 28);
  const vl2 = v128.load32_splat(tmp, 32);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const wv = v128.load(w + off);
    const gv = f32x4.add(v128.load(g + off), f32x4.mul(vl2, wv));
    const mv = f32x4.add(f32x4.mul(vb1, v128.load(m + off)), f32x4.mul(vib1, gv));
    const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + off)), f32x4.mul(vib2, f32x4.mul(gv, gv)));
    v128.store(m + off, mv);
    v128.store(v + off, vv);
    const denom = f32x4.add(f32x4.sqrt(f32x4.mul(vv, vc2)), veps);
    v128.store(w + off, f32x4.sub(wv, f32x4.div(f32x4.mul(vlr, f32x4.mul(mv, vc1)), denom)));
  }
  for (; off < bytes; off += 4) {
    const wv = load<f32>(w + off);
    const gv = load<f32>(g + off) + sl2 * wv;
    const mv = b1 * load<f32>(m + off) + ib1 * gv;
    const vv = b2 * load<f32>(v + off) + ib2 * (gv * gv);
    store<f32>(m + off, mv);
    store<f32>(v + off, vv);
    store<f32>(w + off, wv - (slr * (mv * c1)) / (Mathf.sqrt(vv * c2) + eps));
  }
}
