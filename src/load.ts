/**
 * Building models from files: simdnet's own bytes (loadModel) and the TensorFlow.js Layers format
 * (fromTfjs). Each file is decoded and checked whole before the model's memory is allocated, so a
 * bad file costs no backend memory and never yields a half-loaded model.
 */
import type { BackendName } from './backend/backend.js';
import { checkBackendName, checkThreads } from './backend/index.js';
import { checkKeys, invalid, isPlainObject } from './errors.js';
import { build, type LoadOptions, type Sequential } from './model.js';
import { checkSeed } from './random.js';
import { concatBytes, readBytes, type BytesLike } from './io/bytes.js';
import { MAX_FILE_BYTES } from './io/limits.js';
import { decodeModel } from './io/snet.js';
import { decodeTfjs } from './io/tfjs.js';

/**
 * Restores a model written by `model.save()`: layers, weights, compile settings, optimizer state
 * and step, metadata. Takes the bytes, or (in the browser) a Blob or File holding them.
 */
export async function loadModel(bytes: BytesLike, options: LoadOptions = {}): Promise<Sequential> {
  const where = 'loadModel()';
  const { backend, threads } = checkOptions(where, options, ['backend', 'threads']);
  const data = await readBytes(where, 'bytes', bytes, MAX_FILE_BYTES, 'a Uint8Array written by model.save() (or an ArrayBuffer or Blob of it)');
  const file = decodeModel(where, data);
  const model = await build(where, { layers: file.layers, backend, threads, seed: file.seed });
  try {
    model._restore(file);
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

export interface FromTfjsOptions extends LoadOptions {
  /** Seeds the model's shuffles when fit gets no seed; default 0. */
  seed?: number;
}

/**
 * A model from the TensorFlow.js Layers format: a Sequential of Dense layers (each optionally
 * followed by an Activation, ReLU, LeakyReLU or Softmax layer). `modelJson` is model.json (its
 * text or parsed); `weightsBin` its weights: the bytes, or one buffer per path of the manifest in
 * order. The model comes back uncompiled.
 */
export async function fromTfjs(
  modelJson: unknown, weightsBin: BytesLike | readonly BytesLike[], options: FromTfjsOptions = {},
): Promise<Sequential> {
  const where = 'fromTfjs()';
  const { backend, threads, seed } = checkOptions(where, options, ['backend', 'threads', 'seed']);
  const json = typeof Blob !== 'undefined' && modelJson instanceof Blob
    ? new TextDecoder().decode(await readBytes(where, 'modelJson', modelJson, MAX_FILE_BYTES, 'model.json'))
    : modelJson;
  const expected = 'the weights file (a Uint8Array, ArrayBuffer or Blob), or an array of them';
  const parts = Array.isArray(weightsBin) ? weightsBin : [weightsBin];
  const bins: Uint8Array[] = [];
  for (const part of parts) bins.push(await readBytes(where, 'weightsBin', part, MAX_FILE_BYTES, expected));
  const { layers, weights } = decodeTfjs(where, json, concatBytes(bins));
  const model = await build(where, { layers, backend, threads, seed });
  try {
    model.setWeights(weights);
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

interface CheckedOptions {
  backend?: BackendName;
  threads?: number | 'auto';
  seed?: number;
}

function checkOptions(where: string, options: unknown, keys: string[]): CheckedOptions {
  if (!isPlainObject(options)) throw invalid(where, 'options', "an object such as { backend: 'js' }", options);
  checkKeys(where, 'options', options, keys);
  const { backend, threads, seed } = options;
  return {
    backend: backend === undefined ? undefined : checkBackendName(where, backend),
    threads: threads === undefined ? undefined : checkThreads(where, threads),
    seed: seed === undefined ? undefined : checkSeed(where, 'seed', seed),
  };
}
