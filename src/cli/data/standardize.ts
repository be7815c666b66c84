/**
 * Preprocessing fitted on the training rows only and saved with the model: per-feature
 * standardisation, and the scale of a regression target.
 */
import type { Dataset } from './dataset.js';

/** Per-feature mean and standard deviation of the training rows, saved with the model. */
export interface Standardization {
  mean: number[];
  std: number[];
}

export function fitStandardization(data: Dataset): Standardization {
  const cols = data.features.length;
  const mean = new Array<number>(cols).fill(0);
  const std = new Array<number>(cols).fill(0);
  // Two passes in float64: one-pass formulas lose precision when the mean is large.
  for (let r = 0; r < data.rows; r++) for (let j = 0; j < cols; j++) mean[j] += data.x[r * cols + j];
  for (let j = 0; j < cols; j++) mean[j] /= data.rows;
  for (let r = 0; r < data.rows; r++) {
    for (let j = 0; j < cols; j++) std[j] += (data.x[r * cols + j] - mean[j]) ** 2;
  }
  // A constant column keeps std 1, so it maps to 0 instead of dividing by zero.
  for (let j = 0; j < cols; j++) std[j] = Math.sqrt(std[j] / data.rows) || 1;
  return { mean, std };
}

/** x ← (x − mean) / std, column by column, in place. */
export function standardize(data: Dataset, stats: Standardization): void {
  const cols = data.features.length;
  for (let r = 0; r < data.rows; r++) {
    for (let j = 0; j < cols; j++) {
      const i = r * cols + j;
      data.x[i] = (data.x[i] - stats.mean[j]) / stats.std[j];
    }
  }
}

/** A regression target's mean and standard deviation, saved with the model. */
export interface TargetScale {
  mean: number;
  std: number;
}

/** Mean and standard deviation of a regression target, so the network fits a unit-scale number. */
export function fitTargetScale(data: Dataset): TargetScale {
  let mean = 0;
  for (const v of data.y) mean += v;
  mean /= data.rows;
  let variance = 0;
  for (const v of data.y) variance += (v - mean) ** 2;
  return { mean, std: Math.sqrt(variance / data.rows) || 1 };
}
