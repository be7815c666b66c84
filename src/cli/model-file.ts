/**
 * Model files written by `train --save` and read by `evaluate` and `predict`: the library's
 * serialised model, with what the command line needs to prepare data the same way again
 * (feature columns, standardisation, class names, how the data was split) in its metadata.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SimdnetError, type BackendName, type LossName, type Sequential } from '../index.js';
import { loadModelFile, saveModelFile } from '../node.js';
import { DataError } from './csv.js';
import type { Task } from './data/dataset.js';
import type { Fingerprint } from './data/fingerprint.js';
import type { Standardization } from './data/standardize.js';

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
  /**
   * Enough to rebuild the test split of built-in data or of the training CSV; a CSV is recognised
   * by its fingerprint (absent in models saved before it was recorded: none is recognised).
   */
  data: { source: string; builtin: boolean; seed: number; testSplit: number; validationSplit: number; fingerprint?: Fingerprint };
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

/** Writes the model and its metadata (through a temporary file: a failure leaves no half model). */
export async function writeModelFile(path: string, model: Sequential, metadata: CliMetadata): Promise<void> {
  try {
    // No optimizer state: the command line never resumes training, and it would triple the file.
    await saveModelFile(model, path, { metadata, includeOptimizer: false });
  } catch (err) {
    throw err instanceof SimdnetError ? new DataError(withoutCaller(err.message)) : err;
  }
}

export async function readModelFile(
  path: string,
  backend: BackendName,
  threads: number | 'auto' = 'auto',
): Promise<{ model: CliModel; metadata: CliMetadata }> {
  let model: Sequential;
  try {
    model = await loadModelFile(path, { backend, threads });
  } catch (err) {
    if (!(err instanceof SimdnetError)) throw err;
    // 'path' errors are about the file itself (missing, a folder, too large); the rest about its contents.
    throw new DataError(
      err.argument === 'path'
        ? withoutCaller(err.message)
        : `${path}: not a readable simdnet model (${withoutCaller(err.message)})`,
    );
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

/** "loadModelFile(): cannot use m.bin: …" → "cannot use m.bin: …": the command line has no callers to name. */
function withoutCaller(message: string): string {
  return message.replace(/^\w+\(\): /, '');
}
