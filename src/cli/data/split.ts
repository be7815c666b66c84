/**
 * The seeded train/validation/test partition of a data set's rows, and taking those rows out.
 */
import { Random } from '../../random.js';
import type { Dataset } from './dataset.js';

/** The library's seeded generator on a stream of its own, apart from weights (0) and batch order. */
const SPLIT_STREAM = 7;

export interface Split {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

/**
 * A seeded shuffle of the rows cut into test (the first round(rows·testSplit)), then validation
 * (round(rest·validationSplit)), then train. The same rows, seed and fractions give the same split,
 * which is how `evaluate` finds the test rows a model was not trained on.
 */
export function partitionRows(rows: number, seed: number, testSplit: number, validationSplit: number): Split {
  const order = new Int32Array(rows);
  for (let i = 0; i < rows; i++) order[i] = i;
  new Random(seed, SPLIT_STREAM).shuffleInt32(order, 0, rows);
  const testCount = Math.round(rows * testSplit);
  const validationCount = Math.round((rows - testCount) * validationSplit);
  return {
    test: order.slice(0, testCount),
    validation: order.slice(testCount, testCount + validationCount),
    train: order.slice(testCount + validationCount),
  };
}

/** The given rows of a data set, in that order. */
export function takeRows(data: Dataset, rows: ArrayLike<number>): Dataset {
  const cols = data.features.length;
  const x = new Float32Array(rows.length * cols);
  const y = new Float32Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const from = rows[r];
    x.set(data.x.subarray(from * cols, (from + 1) * cols), r * cols);
    y[r] = data.y[from]!;
  }
  return { ...data, x, y, rows: rows.length };
}
