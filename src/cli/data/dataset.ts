/**
 * What the commands train on and score: one row-major feature matrix and one label vector, with
 * the names that describe them. Loaded by builtin-sets.ts and csv-sets.ts.
 */
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
