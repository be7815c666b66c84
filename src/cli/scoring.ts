/**
 * Predictions and scores computed the same way by `train` (its final test), `evaluate` and
 * `predict`, from the network's outputs alone, so the three agree on a saved model.
 */
import type { LossName } from '../index.js';
import type { Dataset } from './data/dataset.js';
import type { CliModel } from './model-file.js';

/** Rows per predict call: bounds the activation memory a large file needs. */
const PREDICT_ROWS = 1024;

/** Network outputs for every row, rows × outputUnits. */
export function predictAll(model: CliModel, data: Dataset): Float32Array {
  const cols = data.features.length;
  const units = model.outputUnits;
  const out = new Float32Array(data.rows * units);
  for (let start = 0; start < data.rows; start += PREDICT_ROWS) {
    const rows = Math.min(PREDICT_ROWS, data.rows - start);
    const { data: part } = model.predict({
      data: data.x.subarray(start * cols, (start + rows) * cols),
      shape: [rows, cols],
    });
    out.set(part.subarray(0, rows * units), start * units);
  }
  return out;
}

/** Predicted class per row and the network's probability for it. */
export function decodeClasses(outputs: Float32Array, units: number): { index: Int32Array; probability: Float32Array } {
  const rows = outputs.length / units;
  const index = new Int32Array(rows);
  const probability = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    if (units === 1) {
      // One sigmoid output: the probability of class 1.
      const p = outputs[r];
      index[r] = p >= 0.5 ? 1 : 0;
      probability[r] = p >= 0.5 ? p : 1 - p;
      continue;
    }
    let best = 0;
    for (let j = 1; j < units; j++) if (outputs[r * units + j] > outputs[r * units + best]) best = j;
    index[r] = best;
    probability[r] = outputs[r * units + best]!;
  }
  return { index, probability };
}

/** Regression outputs back in the target's units. */
export function decodeTargets(outputs: Float32Array, target: { mean: number; std: number }): Float64Array {
  return Float64Array.from(outputs, (v) => v * target.std + target.mean);
}

export interface ClassificationScores {
  loss: number;
  accuracy: number;
  correct: number;
  rows: number;
}

export interface RegressionScores {
  mse: number;
  rmse: number;
  /** 1 − SSE/SST: the share of the target's variance the model explains. */
  r2: number;
  rows: number;
}

// Probabilities are clipped before the log so one confident mistake gives a large, finite loss.
const EPSILON = 1e-7;

export function scoreClassification(outputs: Float32Array, units: number, labels: Float32Array, loss: LossName): ClassificationScores {
  const rows = labels.length;
  const { index } = decodeClasses(outputs, units);
  let correct = 0;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const y = labels[r];
    if (index[r] === y) correct++;
    if (loss === 'categoricalCrossentropy') {
      total -= Math.log(Math.max(outputs[r * units + y], EPSILON));
    } else if (loss === 'binaryCrossentropy') {
      const p = Math.min(Math.max(outputs[r], EPSILON), 1 - EPSILON);
      total -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
    } else {
      // Squared error against the one-hot target (a 0/1 target for a single output).
      for (let j = 0; j < units; j++) {
        const t = units === 1 ? y : j === y ? 1 : 0;
        total += (outputs[r * units + j] - t) ** 2 / units;
      }
    }
  }
  return { loss: total / rows, accuracy: correct / rows, correct, rows };
}

export function scoreRegression(predictions: Float64Array, targets: Float32Array): RegressionScores {
  const rows = targets.length;
  let mean = 0;
  for (const t of targets) mean += t;
  mean /= rows;
  let sse = 0;
  let sst = 0;
  for (let r = 0; r < rows; r++) {
    sse += (predictions[r] - targets[r]) ** 2;
    sst += (targets[r] - mean) ** 2;
  }
  const mse = sse / rows;
  return { mse, rmse: Math.sqrt(mse), r2: sst > 0 ? 1 - sse / sst : NaN, rows };
}
