/**
 * Node helpers ('simdnet/node'): the library itself works on bytes and imports no Node built-ins,
 * so that it runs in browsers; these wrap it with the file system, and turn on the engine flag the
 * relaxed-SIMD build needs in Node 20.
 */
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { wasmRelaxedSimdSupported } from './backend/wasm.js';
import { SimdnetError } from './errors.js';
import { fromTfjs, loadModel, type FromTfjsOptions } from './load.js';
import { MAX_FILE_BYTES, MODEL_LIMITS } from './io/limits.js';
import { TFJS_WEIGHTS_FILE } from './io/tfjs.js';
import type { LoadOptions, SaveOptions, Sequential } from './model.js';

/**
 * Lets this Node process run the relaxed-SIMD build (`sequential({ relaxedSimd: true })`): Node 20
 * has WebAssembly relaxed SIMD behind V8's --experimental-wasm-relaxed-simd flag, which this sets
 * if needed. The flag is process-wide, so the library itself never sets it; call this before the
 * first relaxed model. Returns whether the engine accepts relaxed SIMD now.
 */
export function enableRelaxedSimd(): boolean {
  if (wasmRelaxedSimdSupported()) return true;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return wasmRelaxedSimdSupported();
}

/** Writes model.save() bytes to `path`, through a temporary file so a failure never leaves half a file. */
export async function saveModelFile(model: Sequential, path: string, options?: SaveOptions): Promise<void> {
  await writeAtomic('saveModelFile()', path, model.save(options));
}

/** Reads a file written by saveModelFile (or model.save()) and restores the model. */
export async function loadModelFile(path: string, options?: LoadOptions): Promise<Sequential> {
  return loadModel(await readLimited('loadModelFile()', path, MAX_FILE_BYTES), options);
}

/** Writes `dir`/model.json and `dir`/weights.bin, which tf.loadLayersModel('file://…/model.json') reads. */
export async function exportTfjs(model: Sequential, dir: string): Promise<{ modelJson: string; weights: string }> {
  const where = 'exportTfjs()';
  const { modelJson, weightsBin } = model.toTfjs();
  await mkdir(dir, { recursive: true }).catch((err: Error) => { throw fileError(where, dir, err); });
  const paths = { modelJson: join(dir, 'model.json'), weights: join(dir, TFJS_WEIGHTS_FILE) };
  // Weights first: a model.json on disk then always has its weights beside it.
  await writeAtomic(where, paths.weights, weightsBin);
  await writeAtomic(where, paths.modelJson, new TextEncoder().encode(JSON.stringify(modelJson)));
  return paths;
}

/**
 * Reads a TensorFlow.js Layers model: `path` is its model.json or the folder holding it; the
 * weight files are those its manifest names, beside it.
 */
export async function importTfjs(path: string, options?: FromTfjsOptions): Promise<Sequential> {
  const where = 'importTfjs()';
  const isDir = await stat(path).then((s) => s.isDirectory(), (err: Error) => { throw fileError(where, path, err); });
  const jsonPath = isDir ? join(path, 'model.json') : path;
  const text = new TextDecoder().decode(await readLimited(where, jsonPath, MODEL_LIMITS.maxHeaderBytes));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SimdnetError('path', `${where}: ${jsonPath} is not JSON; expected a TensorFlow.js model.json`);
  }
  const shards: Uint8Array[] = [];
  for (const name of shardPaths(where, jsonPath, json)) {
    shards.push(await readLimited(where, join(dirname(jsonPath), name), MAX_FILE_BYTES));
  }
  return fromTfjs(json, shards, options);
}

/** The manifest's weight files, which must lie beside model.json (or below it), never elsewhere. */
function shardPaths(where: string, jsonPath: string, json: unknown): string[] {
  const manifest = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) return []; // fromTfjs explains what is missing
  const paths = manifest.flatMap((group: unknown) => (group as { paths?: unknown } | null)?.paths ?? []) as unknown[];
  return paths.map((p) => {
    const clean = typeof p === 'string' ? normalize(p) : '';
    if (clean === '' || isAbsolute(clean) || clean === '..' || clean.startsWith(`..${sep}`)) {
      throw new SimdnetError('path', `${where}: ${jsonPath} names a weights file ${JSON.stringify(p)}, which is not a path beside it`);
    }
    return clean;
  });
}

async function readLimited(where: string, path: string, maxBytes: number): Promise<Uint8Array> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw fileError(where, path, err as Error);
  }
  if (size > maxBytes) throw new SimdnetError('path', `${where}: ${path} is ${size} bytes, more than the ${maxBytes} a valid file can have`);
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw fileError(where, path, err as Error);
  }
}

async function writeAtomic(where: string, path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.${Date.now()}.partial`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    const folder = dirname(path);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await stat(folder).then((s) => s.isDirectory(), () => false))) {
      throw new SimdnetError('path', `${where}: cannot write ${path}: the folder ${folder} does not exist (create it first)`);
    }
    throw fileError(where, path, err as Error);
  }
}

function fileError(where: string, path: string, err: Error): SimdnetError {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no such file or folder' : code === 'EISDIR' ? 'it is a folder' : err.message;
  return new SimdnetError('path', `${where}: cannot use ${path}: ${reason}`);
}
