/**
 * Inputs and labels as the user gives them (nested arrays, flat arrays with a shape, class
 * indices) checked and turned into row-major float32 rows, ready to be copied into backend memory.
 * Every message names the argument, what was expected and what was given.
 */
import { describeValue, invalid, isPlainObject, plural, SimdnetError } from './errors.js';
import type { LossName } from './losses.js';

/** A matrix of m rows: nested rows, or flat row-major data with its shape [rows, cols]. */
export type MatrixLike =
  | number[][]
  | ReadonlyArray<ArrayLike<number>>
  | { data: Float32Array | ArrayLike<number>; shape: readonly [number, number] };

/**
 * Labels: a matrix (one-hot rows or targets, as wide as the output layer), or one value per row:
 * class indices when the output layer has several units, else the single output's target.
 */
export type LabelsLike = MatrixLike | ArrayLike<number>;

/** Row-major float32 data. `data` may be the caller's own Float32Array (never written to). */
export interface Rows {
  data: Float32Array;
  rows: number;
  cols: number;
}

/**
 * Checks `value` is a matrix with `cols` columns (any width if undefined). Finiteness is checked
 * where the rows are copied into backend memory (see uploadRows), by the backend's own kernel.
 */
export function toMatrix(where: string, arg: string, value: unknown, cols?: number, colsMeaning = ''): Rows {
  const rows = asMatrix(where, arg, value);
  if (rows === undefined) {
    if (Array.isArray(value) && value.length === 0) throw invalid(where, arg, 'a matrix with at least one row', value);
    const hint = isNumberList(value) ? ' (a single row or column still needs two dimensions, e.g. [[1, 2]])' : '';
    throw invalid(where, arg, `a matrix: number[][] or { data, shape: [rows, cols] }${hint}`, value);
  }
  if (cols !== undefined && rows.cols !== cols) {
    throw new SimdnetError(arg, `${where}: ${arg} must have ${plural(cols, 'column')}${colsMeaning}, got ${rows.cols}`);
  }
  return rows;
}

/**
 * Checks labels against the output layer (`units` wide) and the `rows` of x, and returns them as
 * [rows × units]: class indices become one-hot rows. The loss decides what values make sense.
 */
export function toLabels(
  where: string, arg: string, value: unknown, rows: number, units: number, loss: LossName | undefined, xArg = 'x',
): Rows {
  let labels: Rows;
  const matrix = asMatrix(where, arg, value);
  if (matrix !== undefined) {
    labels = matrix;
    if (labels.cols !== units) {
      throw new SimdnetError(arg, `${where}: ${arg} must have ${plural(units, 'column')} (the output layer's units), got ${labels.cols}`);
    }
  } else if (isNumberList(value)) {
    labels = units === 1 ? { data: toFloat32(where, arg, value), rows: value.length, cols: 1 } : oneHot(where, arg, value, units);
  } else {
    const cell = units === 1 ? 'a number, the target of the single output' : `a class index, an integer in [0, ${units - 1}]`;
    throw (Array.isArray(value) ? nonNumberCell(where, arg, value, `${cell} (map class names or other text to numbers first)`) : undefined)
      ?? invalid(where, arg, 'labels: one value per row, or a matrix number[][] / { data, shape }', value);
  }
  if (labels.rows !== rows) {
    throw new SimdnetError(arg, `${where}: ${arg} must have ${plural(rows, 'row')} (one per row of ${xArg}), got ${labels.rows}`);
  }
  // Labels are checked here (they are small, and before their value checks, which NaN would pass).
  for (let i = 0; i < labels.data.length; i++) if (labels.data[i] - labels.data[i] !== 0) throw notFiniteError(where, arg, labels);
  if (loss === 'binaryCrossentropy') checkProbabilities(where, arg, labels);
  if (loss === 'categoricalCrossentropy') checkDistributions(where, arg, labels);
  return labels;
}

/** The matrix in `value`, or undefined when `value` is not matrix-shaped at all. */
function asMatrix(where: string, arg: string, value: unknown): Rows | undefined {
  if (Array.isArray(value) && value.length > 0 && typeof value[0] === 'object' && value[0] !== null) {
    return fromNested(where, arg, value as ArrayLike<unknown>[]);
  }
  if (!isPlainObject(value) || !('data' in value) || !('shape' in value)) return undefined;
  const { data, shape } = value;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw invalid(where, `${arg}.shape`, '[rows, cols] with positive integers', shape);
  }
  const [rows, cols] = shape as [number, number];
  if (!isNumberList(data)) {
    throw (Array.isArray(data) ? nonNumberCell(where, `${arg}.data`, data, NUMBER_CELL) : undefined)
      ?? invalid(where, `${arg}.data`, 'a Float32Array or an array of numbers', data);
  }
  if (data.length !== rows * cols) {
    throw new SimdnetError(
      `${arg}.data`,
      `${where}: ${arg}.data must hold rows·cols = ${rows}·${cols} = ${rows * cols} values for shape [${rows}, ${cols}], got ${data.length}`,
    );
  }
  return { data: toFloat32(where, `${arg}.data`, data), rows, cols };
}

function fromNested(where: string, arg: string, nested: ArrayLike<unknown>[]): Rows {
  const rows = nested.length;
  const first = nested[0];
  const cols = isRow(first) ? first.length : 0;
  if (cols === 0) throw invalid(where, `${arg}[0]`, 'a non-empty row of numbers', first);
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = nested[r];
    if (!isRow(row) || row.length !== cols) {
      throw invalid(where, `${arg}[${r}]`, `a row of ${plural(cols, 'number')} like ${arg}[0]`, row);
    }
    for (let c = 0; c < cols; c++) {
      const v = row[c];
      if (typeof v !== 'number') throw invalid(where, `${arg}[${r}][${c}]`, NUMBER_CELL, v);
      data[r * cols + c] = v;
    }
  }
  return { data, rows, cols };
}

/** What a cell of inputs or labels must be, said where one is not. */
const NUMBER_CELL = 'a number (text and categories must be turned into numbers first)';

/** An array (of anything: its cells are checked one by one) or a typed array of numbers. */
function isRow(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || isNumberList(value);
}

/** The error for a list that holds something other than a number: it names the first such cell. */
function nonNumberCell(where: string, arg: string, values: readonly unknown[], expected: string): SimdnetError | undefined {
  const i = values.findIndex((v) => typeof v !== 'number');
  return i < 0 ? undefined : invalid(where, `${arg}[${i}]`, expected, values[i]);
}

function isNumberList(value: unknown): value is ArrayLike<number> {
  if (ArrayBuffer.isView(value)) return !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array);
  return Array.isArray(value) && value.every((v) => typeof v === 'number');
}

/** The caller's Float32Array as is (never copied or written), anything else converted. */
function toFloat32(where: string, arg: string, values: ArrayLike<number>): Float32Array {
  if (values instanceof Float32Array) return values;
  if (values.length === 0) throw invalid(where, arg, 'at least one value', values);
  return Float32Array.from(values);
}

function oneHot(where: string, arg: string, classes: ArrayLike<number>, units: number): Rows {
  const out = new Float32Array(classes.length * units);
  for (let i = 0; i < classes.length; i++) {
    const k = classes[i];
    if (!Number.isInteger(k) || k < 0 || k >= units) {
      throw new SimdnetError(
        arg,
        `${where}: ${arg}[${i}] must be a class index, an integer in [0, ${units - 1}] (the output layer has ${units} units), got ${describeValue(k)}`,
      );
    }
    out[i * units + k] = 1;
  }
  return { data: out, rows: classes.length, cols: units };
}

/**
 * The error for rows that hold a NaN or ±Infinity (also finite doubles that overflow float32),
 * which would poison every weight. Called once a fast check has failed; finds the first one.
 */
export function notFiniteError(where: string, arg: string, { data, cols }: Rows): SimdnetError {
  let i = 0;
  while (i < data.length - 1 && data[i] - data[i] === 0) i++;
  const at = cols === 1 ? `[${Math.floor(i / cols)}]` : `[${Math.floor(i / cols)}][${i % cols}]`;
  return new SimdnetError(arg, `${where}: ${arg} must hold finite numbers (float32), got ${data[i]} at ${arg}${at}`);
}

function checkProbabilities(where: string, arg: string, { data }: Rows): void {
  for (let i = 0; i < data.length; i++) {
    if (data[i] < 0 || data[i] > 1) {
      throw new SimdnetError(arg, `${where}: ${arg} must be in [0, 1] for loss 'binaryCrossentropy', got ${data[i]} at index ${i}`);
    }
  }
}

/** Softmax + cross-entropy's gradient (A − Y)/m holds only when each label row sums to 1. */
function checkDistributions(where: string, arg: string, { data, rows, cols }: Rows): void {
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const v = data[r * cols + c];
      if (v < 0) throw new SimdnetError(arg, `${where}: ${arg} must be ≥ 0 for loss 'categoricalCrossentropy', got ${v} at ${arg}[${r}][${c}]`);
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) {
      throw new SimdnetError(
        arg,
        `${where}: ${arg}[${r}] must sum to 1 for loss 'categoricalCrossentropy' (one-hot or class probabilities), got a sum of ${sum}`,
      );
    }
  }
}
