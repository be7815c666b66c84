/**
 * Model files written by `train --save` and read by `evaluate` and `predict`: the library's
 * serialised model, with what the command line needs to prepare data the same way again
 * (feature columns, standardisation, class names, how the data was split) in its metadata.
 */
import { existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadModel } from '../index.js';
import { DataError } from './csv.js';
import type { Standardization, Task } from './data.js';
import type { LossName } from './options.js';

export const MODEL_FORMAT = 'simdnet-cli';
export const MODEL_FORMAT_VERSION = 1;

export interface CliMetadata {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  task: Task;
  /** Input columns in the order the network reads them. */
  features: string[];
  label: string;
  /** Class names by output index (classification). */
  classes: string[];
  loss: LossName;
  /** Applied to features before the network; null for data already in range (MNIST pixels). */
  standardization: Standardization | null;
  /** Regression: the network predicts (target − mean) / std. */
  target: { mean: number; std: number } | null;
  /** Enough to rebuild the test split of built-in data or of the training CSV. */
  data: { source: string; builtin: boolean; seed: number; testSplit: number; validationSplit: number };
  training: Record<string, unknown>;
}

/** What the commands use of a model, whichever way it was made. */
export interface CliModel {
  predict(x: { data: Float32Array; shape: [number, number] }): { data: Float32Array; shape: [number, number] };
  readonly inputUnits: number;
  readonly outputUnits: number;
  dispose(): void;
}

/** Refuse a --save target that cannot be written before spending minutes training. */
export function checkSavePath(path: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DataError(`${path}: cannot save the model there: folder ${dirname(path)} does not exist`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new DataError(`${path}: cannot save the model there: it is a folder`);
  }
}

/** Writes via a temporary file, so a failed write never leaves half a model behind. */
export function writeModelFile(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.${process.pid}.partial`;
  try {
    writeFileSync(temporary, bytes);
    renameSync(temporary, path);
  } catch (err) {
    if (existsSync(temporary)) unlinkSync(temporary);
    throw new DataError(`${path}: cannot write the model (${(err as Error).message})`);
  }
}

export async function readModelFile(
  path: string,
  backend: 'wasm' | 'js',
): Promise<{ model: CliModel; metadata: CliMetadata }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(`${path}: cannot read the model file (${code === 'ENOENT' ? 'no such file' : (err as Error).message})`);
  }
  let model;
  try {
    model = await loadModel(bytes, { backend });
  } catch (err) {
    throw new DataError(`${path}: not a readable simdnet model (${(err as Error).message})`);
  }
  const metadata = model.metadata as Partial<CliMetadata> | null | undefined;
  if (metadata?.format !== MODEL_FORMAT) {
    model.dispose();
    throw new DataError(
      `${path}: this model has no command-line metadata (feature names, preprocessing); ` +
        `save it with "simdnet train --save", or use the library's loadModel()`,
    );
  }
  if (metadata.formatVersion !== MODEL_FORMAT_VERSION) {
    model.dispose();
    throw new DataError(
      `${path}: model metadata version ${String(metadata.formatVersion)} is not the one this simdnet reads ` +
        `(${MODEL_FORMAT_VERSION})`,
    );
  }
  return { model, metadata: metadata as CliMetadata };
}
