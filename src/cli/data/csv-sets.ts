/**
 * A CSV file as a data set: for training (every column but the label is a feature), or for a
 * saved model (its feature columns by name).
 */
import { existsSync } from 'node:fs';
import { columnIndex, DataError, numberAt, readCsv, type CsvTable } from '../csv.js';
import { UsageError } from '../options.js';
import type { Dataset, Task } from './dataset.js';

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
  const names = table.rows.map((row) => row[labelColumn]);
  names.forEach((name, r) => {
    if (name === '') {
      throw new DataError(
        `${file}:${table.lines[r]}:${labelColumn + 1}: label column "${table.header[labelColumn]}" is empty`,
      );
    }
  });
  const classes = [...new Set(names)];
  // Numeric labels sort as numbers (2 before 10), names alphabetically: the order never depends on row order.
  if (classes.every(isNumberLabel)) classes.sort((a, b) => Number(a) - Number(b));
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
 * ignored) and, when `needLabel` (evaluate), its label column; predict reads no labels.
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
  // Without labels to score, the label column is not read at all: it may be blank, "?" or missing.
  const labelColumn = needLabel ? columnIndex(table, labelName, 'label') : -1;
  const y = new Float32Array(table.rows.length).fill(NaN);
  if (needLabel) {
    const index = new Map(classes.map((c, i) => [c, i]));
    for (let r = 0; r < y.length; r++) {
      if (task === 'regression') {
        y[r] = numberAt(table, r, labelColumn, 'label');
        continue;
      }
      const name = table.rows[r][labelColumn];
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

/** A class name that is a plain number, such as 3 or -0.5. */
export function isNumberLabel(name: string): boolean {
  return /^[+-]?\d+(\.\d+)?$/.test(name);
}

function featureMatrix(table: CsvTable, columns: number[]): Float32Array {
  const x = new Float32Array(table.rows.length * columns.length);
  for (let r = 0; r < table.rows.length; r++) {
    for (let j = 0; j < columns.length; j++) x[r * columns.length + j] = numberAt(table, r, columns[j], 'feature');
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
    features: featureColumns.map((i) => table.header[i]),
    task,
    classes,
    y,
    label: labelColumn >= 0 ? table.header[labelColumn] : '',
  };
}
