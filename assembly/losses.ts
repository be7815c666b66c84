// Losses over a batch of m rows and n outputs: return the mean loss, write its gradient.
// The output layer is small next to the GEMMs, so these run in scalar f64 for accuracy: sums over a
// batch and log/exp of logits keep full precision, and each gradient is rounded to f32 once.
// Every gradient may alias `a`: element i of a is read before element i of the gradient is written.

/**
 * Binary cross-entropy on sigmoid outputs, from the logits z (stable for any |z|): returns the mean
 * over m·n of max(z,0) − z·y + log(1 + e^−|z|); writes dz = (a − y)/(m·n), a = sigmoid(z).
 */
export function lossSigmoidBce(z: usize, a: usize, y: usize, dz: usize, m: i32, n: i32): f64 {
  const count = <f64>m * <f64>n;
  const len = <usize>m * <usize>n;
  let sum = 0.0;
  for (let i: usize = 0; i < len; i++) {
    const off = i << 2;
    const zi = <f64>load<f32>(z + off);
    const yi = <f64>load<f32>(y + off);
    sum += max(zi, 0) - zi * yi + Math.log1p(Math.exp(-Math.abs(zi)));
    store<f32>(dz + off, <f32>((<f64>load<f32>(a + off) - yi) / count));
  }
  return sum / count;
}

/**
 * Categorical cross-entropy on softmax outputs, from the logits z: per row,
 * −Σ_j y_j log softmax(z)_j = Σ_j y_j (lse − z_j) with lse = max + log Σ_j e^(z_j − max).
 * Returns the mean over m rows; writes dz = (a − y)/m, a = softmax(z).
 */
export function lossSoftmaxCce(z: usize, a: usize, y: usize, dz: usize, m: i32, n: i32): f64 {
  const rows = <f64>m;
  const rowBytes = <usize>n << 2;
  let sum = 0.0;
  for (let r = 0; r < m; r++) {
    let mx = -Infinity;
    for (let off: usize = 0; off < rowBytes; off += 4) mx = max(mx, <f64>load<f32>(z + off));
    let s = 0.0;
    for (let off: usize = 0; off < rowBytes; off += 4) s += Math.exp(<f64>load<f32>(z + off) - mx);
    const lse = mx + Math.log(s);
    for (let off: usize = 0; off < rowBytes; off += 4) {
      const yj = <f64>load<f32>(y + off);
      sum += yj * (lse - <f64>load<f32>(z + off));
      store<f32>(dz + off, <f32>((<f64>load<f32>(a + off) - yj) / rows));
    }
    z += rowBytes;
    a += rowBytes;
    y += rowBytes;
    dz += rowBytes;
  }
  return sum / rows;
}

/** Mean squared error: returns the mean over m·n of (a − y)²; writes da = 2(a − y)/(m·n). */
export function lossMse(a: usize, y: usize, da: usize, m: i32, n: i32): f64 {
  const count = <f64>m * <f64>n;
  const len = <usize>m * <usize>n;
  let sum = 0.0;
  for (let i: usize = 0; i < len; i++) {
    const off = i << 2;
    const d = <f64>load<f32>(a + off) - <f64>load<f32>(y + off);
    sum += d * d;
    store<f32>(da + off, <f32>(2 * d / count));
  }
  return sum / count;
}

/** Mean absolute error: returns the mean over m·n of |a − y|; writes da = sign(a − y)/(m·n) (0 where a = y). */
export function lossMae(a: usize, y: usize, da: usize, m: i32, n: i32): f64 {
  const count = <f64>m * <f64>n;
  const len = <usize>m * <usize>n;
  let sum = 0.0;
  for (let i: usize = 0; i < len; i++) {
    const off = i << 2;
    const d = <f64>load<f32>(a + off) - <f64>load<f32>(y + off);
    sum += Math.abs(d);
    store<f32>(da + off, <f32>((d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0) / count));
  }
  return sum / count;
}

/**
 * Huber loss with δ = delta: per output ½d² where |d| ≤ δ, else δ·(|d| − ½δ), d = a − y; returns the
 * mean over m·n; writes da = clamp(d, −δ, δ)/(m·n).
 */
export function lossHuber(a: usize, y: usize, da: usize, m: i32, n: i32, delta: f64): f64 {
  const count = <f64>m * <f64>n;
  const len = <usize>m * <usize>n;
  let sum = 0.0;
  for (let i: usize = 0; i < len; i++) {
    const off = i << 2;
    const d = <f64>load<f32>(a + off) - <f64>load<f32>(y + off);
    const ad = Math.abs(d);
    sum += ad <= delta ? 0.5 * d * d : delta * (ad - 0.5 * delta);
    store<f32>(da + off, <f32>((d > delta ? delta : d < -delta ? -delta : d) / count));
  }
  return sum / count;
}
