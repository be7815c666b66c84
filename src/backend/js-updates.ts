/**
 * The js backend's kernels for the optimizers of assembly/updates.ts (SGD with momentum or
 * Nesterov, RMSProp, Adagrad, AdamW) and for gradient clipping, as plain loops. Each takes the
 * memory's Float32Array and float indices (pointer >> 2); js.ts wires them into the backend.
 * Arithmetic happens in doubles and is rounded to float32 on store. The state they keep is stored
 * flushed as assembly/updates.ts explains: a float32 value below the smallest normal float (−0
 * included) is stored as +0, and the update uses the stored value.
 */

const MIN_NORMAL = 1.1754943508222875e-38; // 2^-126

/** v rounded to float32, or +0 where that is below the smallest normal float; NaN passes. */
function flush(v: number): number {
  const r = Math.fround(v);
  return Math.abs(r) < MIN_NORMAL ? 0 : r;
}

/** acc ← μ·acc + g'; w ← w − lr·acc, or w − lr·(g' + μ·acc) with Nesterov; g' = g + l2·w. */
export function sgdMomentum(
  f: Float32Array, W: number, G: number, ACC: number, n: number, lr: number, mu: number, nesterov: boolean, l2: number,
): void {
  for (let i = 0; i < n; i++) {
    const wi = f[W + i];
    const gi = f[G + i] + l2 * wi;
    const ai = flush(mu * f[ACC + i] + gi);
    f[ACC + i] = ai;
    f[W + i] = wi - lr * (nesterov ? gi + mu * ai : ai);
  }
}

/** RMSProp, plain or centered, with or without momentum (assembly/updates.ts gives the formulas). */
export function rmsprop(
  f: Float32Array, W: number, G: number, MS: number, MOM: number, MG: number, n: number,
  lr: number, rho: number, epsilon: number, mu: number, centered: boolean,
): void {
  const irho = 1 - rho;
  for (let i = 0; i < n; i++) {
    const gi = f[G + i];
    const ms = flush(f[MS + i] * rho + gi * gi * irho);
    f[MS + i] = ms;
    let inner = ms;
    if (centered) {
      const mg = flush(f[MG + i] * rho + gi * irho);
      f[MG + i] = mg;
      inner = ms - mg * mg;
    }
    const step = (gi * lr) / Math.sqrt(inner + epsilon);
    if (mu !== 0) {
      const mom = flush(f[MOM + i] * mu + step);
      f[MOM + i] = mom;
      f[W + i] -= mom;
    } else {
      f[W + i] -= step;
    }
  }
}

/** acc ← acc + g²; w ← w − lr·g/√(acc + ε). */
export function adagrad(f: Float32Array, W: number, G: number, ACC: number, n: number, lr: number, epsilon: number): void {
  for (let i = 0; i < n; i++) {
    const gi = f[G + i];
    const acc = flush(f[ACC + i] + gi * gi);
    f[ACC + i] = acc;
    f[W + i] -= (gi / Math.sqrt(acc + epsilon)) * lr;
  }
}

/** AdamW: Adam's m and v; w ← w − lr·wd·w − lr·m̂/(√v̂ + ε). */
export function adamw(
  f: Float32Array, W: number, G: number, M: number, V: number, n: number,
  lr: number, beta1: number, beta2: number, epsilon: number, weightDecay: number, t: number,
): void {
  const c1 = 1 / (1 - Math.pow(beta1, t));
  const c2 = 1 / (1 - Math.pow(beta2, t));
  const decay = lr * weightDecay;
  const b1c = 1 - beta1, b2c = 1 - beta2;
  for (let i = 0; i < n; i++) {
    const wi = f[W + i];
    const gi = f[G + i];
    const mi = flush(beta1 * f[M + i] + b1c * gi);
    const vi = flush(beta2 * f[V + i] + b2c * gi * gi);
    f[M + i] = mi;
    f[V + i] = vi;
    f[W + i] = wi - decay * wi - (lr * mi * c1) / (Math.sqrt(vi * c2) + epsilon);
  }
}

/** f[OUT] = Σ x² over n floats, summed in a double and rounded once. */
export function sumSquares(f: Float32Array, X: number, n: number, OUT: number): void {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += f[X + i] * f[X + i];
  f[OUT] = sum;
}

export function scaleInPlace(f: Float32Array, X: number, n: number, s: number): void {
  for (let i = 0; i < n; i++) f[X + i] *= s;
}

/** x ← min(max(x, −c), c); NaN passes. */
export function clampInPlace(f: Float32Array, X: number, n: number, c: number): void {
  for (let i = 0; i < n; i++) {
    const v = f[X + i];
    f[X + i] = v < -c ? -c : v > c ? c : v;
  }
}

/** dw += l1·sign(w) + 2·l2·w (sign(0) = 0). */
export function regularizerGradient(f: Float32Array, W: number, DW: number, n: number, l1: number, l2: number): void {
  const l2x2 = Math.fround(2 * l2);
  // Without l1 (the usual case), one term less.
  if (l1 === 0) {
    for (let i = 0; i < n; i++) f[DW + i] += l2x2 * f[W + i];
    return;
  }
  // sign(w) as a difference of two integers, then one multiply: the loop keeps to doubles and small
  // integers (a ternary mixing −l1 and 0 boxed its result; docs/ARCHITECTURE.md, 'Number boxing').
  for (let i = 0; i < n; i++) {
    const w = f[W + i];
    f[DW + i] += l1 * ((w > 0 ? 1 : 0) - (w < 0 ? 1 : 0)) + l2x2 * w;
  }
}

/** f[OUT] = Σ l1·|w| + l2·w², summed in doubles. */
export function regularizerPenalty(f: Float32Array, W: number, n: number, l1: number, l2: number, OUT: number): void {
  let sumAbs = 0, sumSq = 0;
  for (let i = 0; i < n; i++) {
    const w = f[W + i];
    sumAbs += Math.abs(w);
    sumSq += w * w;
  }
  f[OUT] = l1 * sumAbs + l2 * sumSq;
}

/**
 * Inverted dropout with the counter-based mask of assembly/updates.ts (the same hash, so the same
 * bits): f[Y + i] = f[X + i]/(1 − rate) where element first + i is kept, else 0.
 */
export function dropout(
  f: Float32Array, X: number, Y: number, n: number, first: number, rate: number, seed: number, step: number, layer: number,
): void {
  const thr = Math.round(rate * 16777216);
  const scale = Math.fround(1 / (1 - rate));
  const base = seed ^ Math.imul(step, 0x9e3779b1) ^ Math.imul(layer, 0x85ebca77);
  for (let i = 0; i < n; i++) {
    let x = (base + Math.imul(first + i, 0x27d4eb2f)) | 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x85ebca6b);
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35);
    x ^= x >>> 16;
    f[Y + i] = x >>> 8 >= thr ? f[X + i] * scale : 0;
  }
}
