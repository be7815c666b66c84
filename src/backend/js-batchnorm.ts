/**
 * The js backend's batch normalization kernels (assembly/batchnorm.ts gives the formulas and the
 * aliasing rules), as plain loops over the memory's Float32Array with float indices (pointer >> 2);
 * js.ts wires them into the backend. Arithmetic happens in doubles and is rounded to float32 on
 * store; column sums accumulate in the float32 output vectors, row after row, as colSum does.
 */

/** Training forward: batch mean and biased variance per column, xhat and y = xhat·γ + β. */
export function batchNormTrain(
  f: Float32Array, X: number, m: number, n: number, B: number, G: number, BETA: number, epsilon: number,
  MEAN: number, VAR: number, INV: number, XHAT: number, Y: number,
): void {
  f.fill(0, MEAN, MEAN + n);
  f.fill(0, VAR, VAR + n);
  for (let i = 0; i < m; i++) {
    const row = X + i * n;
    if (B !== 0) for (let j = 0; j < n; j++) f[row + j] += f[B + j];
    for (let j = 0; j < n; j++) f[MEAN + j] += f[row + j];
  }
  for (let j = 0; j < n; j++) f[MEAN + j] /= m;
  for (let i = 0; i < m; i++) {
    const row = X + i * n;
    for (let j = 0; j < n; j++) {
      const d = f[row + j] - f[MEAN + j];
      f[VAR + j] += d * d;
    }
  }
  for (let j = 0; j < n; j++) {
    const v = Math.fround(f[VAR + j] / m);
    f[VAR + j] = v;
    f[INV + j] = 1 / Math.sqrt(v + Math.fround(epsilon));
  }
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) {
      const h = (f[X + row + j] - f[MEAN + j]) * f[INV + j];
      f[XHAT + row + j] = h;
      f[Y + row + j] = h * f[G + j] + f[BETA + j];
    }
  }
}

/** dβ = Σ dy, dγ = Σ dy·xhat, dx = γ·invStd·(dy − dβ/m − xhat·dγ/m). */
export function batchNormBackward(
  f: Float32Array, DY: number, XHAT: number, m: number, n: number, G: number, INV: number, DG: number, DB: number, DX: number,
): void {
  f.fill(0, DG, DG + n);
  f.fill(0, DB, DB + n);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) {
      const d = f[DY + row + j];
      f[DB + j] += d;
      f[DG + j] += d * f[XHAT + row + j];
    }
  }
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) {
      const mean = (f[DB + j] + f[XHAT + row + j] * f[DG + j]) / m;
      f[DX + row + j] = f[G + j] * f[INV + j] * (f[DY + row + j] - mean);
    }
  }
}

/** y = (x + bias − μ)·s + β with s = γ/√(v + ε) written to SCALE (B 0: no bias). */
export function batchNormInference(
  f: Float32Array, X: number, m: number, n: number, B: number, G: number, BETA: number, MEAN: number, VAR: number,
  epsilon: number, SCALE: number, Y: number,
): void {
  const eps = Math.fround(epsilon);
  for (let j = 0; j < n; j++) f[SCALE + j] = f[G + j] / Math.sqrt(f[VAR + j] + eps);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    // z = x + b is a float32 value, as the training pass stores it.
    if (B !== 0) for (let j = 0; j < n; j++) f[Y + row + j] = f[X + row + j] + f[B + j];
    const Z = B !== 0 ? Y : X;
    for (let j = 0; j < n; j++) f[Y + row + j] = (f[Z + row + j] - f[MEAN + j]) * f[SCALE + j] + f[BETA + j];
  }
}

/**
 * moving ← moving − (moving − batch)·(1 − momentum), 1 − momentum rounded to float32 once and each
 * step rounded to float32, as TF.js' float32 tensors compute it (the wasm kernel's bits).
 */
export function movingAverage(f: Float32Array, MOVING: number, BATCH: number, n: number, momentum: number): void {
  const decay = Math.fround(1 - momentum);
  for (let i = 0; i < n; i++) {
    const mv = f[MOVING + i];
    f[MOVING + i] = mv - Math.fround(Math.fround(mv - f[BATCH + i]) * decay);
  }
}
