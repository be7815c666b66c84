// Batch normalization over an m×n block whose columns are a layer's units (src/network.ts runs it
// on a dense layer's Z, or on its activation A): the training step's batch statistics and output,
// its backward pass, the inference map of the moving statistics, and the moving averages. The
// formulas are TF.js' tf.layers.batchNormalization (docs/ARCHITECTURE.md, 'Where the math lives').
//
// The column vectors (μ, v, 1/σ, γ, β, dγ, dβ) are n floats each. The m×n passes run row by row
// over f32x4 vectors of columns, as colSum does (reductions.ts), with the column vectors held in L1;
// columns past the last multiple of 4 run the same arithmetic on scalars. The threaded backend runs
// these kernels on the calling thread (src/backend/threads/threaded.ts), so any thread count gives
// the same bits.

/**
 * Training forward, per column j over the m rows: z = x + bias (written back into x, bias ≠ 0),
 * μ_j = Σ z/m, v_j = Σ (z − μ_j)²/m (biased, two passes), invStd_j = 1/√(v_j + ε),
 * xhat = (z − μ_j)·invStd_j, y = xhat·γ_j + β_j. Writes mean (μ), variance (v), invStd, xhat and y.
 * xhat and y may each alias x, not each other; the column vectors alias nothing.
 */
export function batchNormTrain(
  x: usize, m: i32, n: i32, bias: usize, gamma: usize, beta: usize, epsilon: f32,
  mean: usize, variance: usize, invStd: usize, xhat: usize, y: usize,
): void {
  const colBytes = <usize>n << 2;
  memory.fill(mean, 0, colBytes);
  memory.fill(variance, 0, colBytes);
  if (bias != 0) columnSums(true, x, m, n, bias, mean);
  else columnSums(false, x, m, n, bias, mean);
  const vecBytes = <usize>(n & ~3) << 2;
  const vm = f32x4.splat(<f32>m);
  const fm = <f32>m;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) v128.store(mean + off, f32x4.div(v128.load(mean + off), vm));
  for (; off < colBytes; off += 4) store<f32>(mean + off, load<f32>(mean + off) / fm);
  squaredDeviations(x, m, n, mean, variance);
  const ve = f32x4.splat(epsilon);
  const one = f32x4.splat(1);
  for (off = 0; off < vecBytes; off += 16) {
    const v = f32x4.div(v128.load(variance + off), vm);
    v128.store(variance + off, v);
    v128.store(invStd + off, f32x4.div(one, f32x4.sqrt(f32x4.add(v, ve))));
  }
  for (; off < colBytes; off += 4) {
    const v = load<f32>(variance + off) / fm;
    store<f32>(variance + off, v);
    store<f32>(invStd + off, <f32>1 / sqrt<f32>(v + epsilon));
  }
  normalizeRows(x, m, n, mean, invStd, gamma, beta, xhat, y);
}

/** out[j] += Σ_i z[i][j], with z = x + bias written back into x when withBias. */
@inline function columnSums(withBias: bool, x: usize, m: i32, n: i32, bias: usize, out: usize): void {
  const rowBytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  for (let r = 0; r < m; r++) {
    let off: usize = 0;
    for (; off < vecBytes; off += 16) {
      let v = v128.load(x + off);
      if (withBias) {
        v = f32x4.add(v, v128.load(bias + off));
        v128.store(x + off, v);
      }
      v128.store(out + off, f32x4.add(v128.load(out + off), v));
    }
    for (; off < rowBytes; off += 4) {
      let s = load<f32>(x + off);
      if (withBias) {
        s += load<f32>(bias + off);
        store<f32>(x + off, s);
      }
      store<f32>(out + off, load<f32>(out + off) + s);
    }
    x += rowBytes;
  }
}

/** out[j] += Σ_i (x[i][j] − mean[j])². */
function squaredDeviations(x: usize, m: i32, n: i32, mean: usize, out: usize): void {
  const rowBytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  for (let r = 0; r < m; r++) {
    let off: usize = 0;
    for (; off < vecBytes; off += 16) {
      const d = f32x4.sub(v128.load(x + off), v128.load(mean + off));
      v128.store(out + off, f32x4.add(v128.load(out + off), f32x4.mul(d, d)));
    }
    for (; off < rowBytes; off += 4) {
      const d = load<f32>(x + off) - load<f32>(mean + off);
      store<f32>(out + off, load<f32>(out + off) + d * d);
    }
    x += rowBytes;
  }
}

/** xhat = (x − mean)·invStd and y = xhat·γ + β, row by row. */
function normalizeRows(
  x: usize, m: i32, n: i32, mean: usize, invStd: usize, gamma: usize, beta: usize, xhat: usize, y: usize,
): void {
  const rowBytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  for (let r = 0; r < m; r++) {
    let off: usize = 0;
    for (; off < vecBytes; off += 16) {
      const h = f32x4.mul(f32x4.sub(v128.load(x + off), v128.load(mean + off)), v128.load(invStd + off));
      v128.store(xhat + off, h);
      v128.store(y + off, f32x4.add(f32x4.mul(h, v128.load(gamma + off)), v128.load(beta + off)));
    }
    for (; off < rowBytes; off += 4) {
      const h = (load<f32>(x + off) - load<f32>(mean + off)) * load<f32>(invStd + off);
      store<f32>(xhat + off, h);
      store<f32>(y + off, h * load<f32>(gamma + off) + load<f32>(beta + off));
    }
    x += rowBytes;
    xhat += rowBytes;
    y += rowBytes;
  }
}

/**
 * The backward pass of batchNormTrain, from dy = ∂L/∂y [m×n] and the xhat it wrote:
 * dβ_j = Σ_i dy, dγ_j = Σ_i dy·xhat, and
 * dx = γ_j·invStd_j·(dy − dβ_j/m − xhat·dγ_j/m), the gradient through the batch's mean and variance
 * too. dx may alias dy; dgamma and dbeta alias nothing.
 */
export function batchNormBackward(
  dy: usize, xhat: usize, m: i32, n: i32, gamma: usize, invStd: usize, dgamma: usize, dbeta: usize, dx: usize,
): void {
  const rowBytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  memory.fill(dgamma, 0, rowBytes);
  memory.fill(dbeta, 0, rowBytes);
  let pd = dy, ph = xhat;
  for (let r = 0; r < m; r++) {
    let off: usize = 0;
    for (; off < vecBytes; off += 16) {
      const d = v128.load(pd + off);
      v128.store(dbeta + off, f32x4.add(v128.load(dbeta + off), d));
      v128.store(dgamma + off, f32x4.add(v128.load(dgamma + off), f32x4.mul(d, v128.load(ph + off))));
    }
    for (; off < rowBytes; off += 4) {
      const d = load<f32>(pd + off);
      store<f32>(dbeta + off, load<f32>(dbeta + off) + d);
      store<f32>(dgamma + off, load<f32>(dgamma + off) + d * load<f32>(ph + off));
    }
    pd += rowBytes;
    ph += rowBytes;
  }
  const rm: f32 = <f32>1 / <f32>m;
  const vrm = f32x4.splat(rm);
  for (let r = 0; r < m; r++) {
    let off: usize = 0;
    for (; off < vecBytes; off += 16) {
      const k = f32x4.mul(v128.load(gamma + off), v128.load(invStd + off));
      const mean = f32x4.mul(f32x4.add(v128.load(dbeta + off), f32x4.mul(v128.load(xhat + off), v128.load(dgamma + off))), vrm);
      v128.store(dx + off, f32x4.mul(k, f32x4.sub(v128.load(dy + off), mean)));
    }
    for (; off < rowBytes; off += 4) {
      const k = load<f32>(gamma + off) * load<f32>(invStd + off);
      const mean = (load<f32>(dbeta + off) + load<f32>(xhat + off) * load<f32>(dgamma + off)) * rm;
      store<f32>(dx + off, k * (load<f32>(dy + off) - mean));
    }
    dy += rowBytes;
    xhat += rowBytes;
    dx += rowBytes;
  }
}

/**
 * Inference: y = (x + bias − μ_j)·s_j + β_j with s_j = γ_j/√(v_j + ε) from the moving mean μ and
 * variance v (bias 0: none). Writes s into scale (n floats). y may alias x.
 */
export function batchNormInference(
  x: usize, m: i32, n: i32, bias: usize, gamma: usize, beta: usize, mean: usize, variance: usize, epsilon: f32,
  scale: usize, y: usize,
): void {
  const rowBytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  const ve = f32x4.splat(epsilon);
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    v128.store(scale + off, f32x4.div(v128.load(gamma + off), f32x4.sqrt(f32x4.add(v128.load(variance + off), ve))));
  }
  for (; off < rowBytes; off += 4) store<f32>(scale + off, load<f32>(gamma + off) / sqrt<f32>(load<f32>(variance + off) + epsilon));
  if (bias != 0) inferenceRows(true, x, m, n, bias, beta, mean, scale, y);
  else inferenceRows(false, x, m, n, bias, beta, mean, scale, y);
}

@inline function inferenceRows(
  withBias: bool, x: usize, m: i32, n: i32, bias: usize, beta: usize, mean: usize, scale: usize, y: usize,
): void {
  const rowBytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  for (let r = 0; r < m; r++) {
    let off: usize = 0;
    for (; off < vecBytes; off += 16) {
      let v = v128.load(x + off);
      if (withBias) v = f32x4.add(v, v128.load(bias + off));
      v = f32x4.mul(f32x4.sub(v, v128.load(mean + off)), v128.load(scale + off));
      v128.store(y + off, f32x4.add(v, v128.load(beta + off)));
    }
    for (; off < rowBytes; off += 4) {
      let s = load<f32>(x + off);
      if (withBias) s += load<f32>(bias + off);
      store<f32>(y + off, (s - load<f32>(mean + off)) * load<f32>(scale + off) + load<f32>(beta + off));
    }
    x += rowBytes;
    y += rowBytes;
  }
}

/**
 * The moving averages, as TF.js updates them: moving ← moving − (moving − batch)·(1 − momentum),
 * with 1 − momentum rounded to f32 once, over n floats. moving and batch must not alias.
 */
export function movingAverage(moving: usize, batch: usize, n: i32, momentum: f64): void {
  const decay = <f32>(1 - momentum);
  const vd = f32x4.splat(decay);
  const bytes = <usize>n << 2;
  const vecBytes = <usize>(n & ~3) << 2;
  let off: usize = 0;
  for (; off < vecBytes; off += 16) {
    const mv = v128.load(moving + off);
    v128.store(moving + off, f32x4.sub(mv, f32x4.mul(f32x4.sub(mv, v128.load(batch + off)), vd)));
  }
  for (; off < bytes; off += 4) {
    const mv = load<f32>(moving + off);
    store<f32>(moving + off, mv - (mv - load<f32>(batch + off)) * decay);
  }
}
