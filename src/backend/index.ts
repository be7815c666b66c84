/** Backend selection: SIMD WebAssembly by default, the pure-JS kernels on request. */
import { invalid, SimdnetError } from '../errors.js';
import { BACKEND_NAMES, type Backend, type BackendName } from './backend.js';
import { createJsBackend } from './js.js';
import type { ThreadedOptions } from './threads/create.js';
import { threadHost } from './threads/host.js';
import { ThreadsStoppedError } from './threads/stopped.js';
import type { ThreadedWasmBackend } from './threads/threaded.js';
import { createWasmBackend, wasmRelaxedSimdSupported } from './wasm.js';

export * from './backend.js';
export { createJsBackend, createWasmBackend, wasmRelaxedSimdSupported, ThreadsStoppedError };
export type { WasmBackendOptions } from './wasm.js';
export type { ThreadedOptions };

/**
 * A wasm backend on `options.threads` threads (threads/create.ts), or the reason it could not be
 * had. The threads' code, the source of the worker threads included, is imported here on first
 * use, so bundles load it (like the shared wasm builds it runs) only when threads are asked for.
 */
export async function createThreadedBackend(options: ThreadedOptions): Promise<ThreadedWasmBackend | { reason: string }> {
  let threads: typeof import('./threads/create.js');
  try {
    threads = await import('./threads/create.js');
  } catch (err) {
    return { reason: `the code of the threads could not be loaded (${(err as Error).message})` };
  }
  return threads.createThreadedBackend(options);
}

/**
 * The smallest module that uses a v128 instruction: `(func (result v128) i32.const 0 i32x4.splat)`.
 * Engines without the SIMD proposal reject it at validation.
 */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x11, 0x0b, // code: i32.const 0; i32x4.splat; end
]);

/** True when this engine has WebAssembly with 128-bit SIMD. */
export function wasmSimdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** `value` as a backend name; a SimdnetError naming `where`'s `backend` argument otherwise. */
export function checkBackendName(where: string, value: unknown): BackendName {
  if (!(BACKEND_NAMES as readonly unknown[]).includes(value)) throw invalid(where, 'backend', "'wasm' or 'js'", value);
  return value as BackendName;
}

export interface BackendOptions {
  /** wasm only: use the relaxed-SIMD build (FMA in GEMM; see createWasmBackend). Default false. */
  relaxed?: boolean;
  /**
   * Threads to run the kernels on, the calling one included: a number, or 'auto' (the cores
   * available, at most AUTO_THREADS_CAP, where threads can run). Default 1. When fewer threads
   * run than asked, the backend's threadsReason says why.
   */
  threads?: number | 'auto';
  /**
   * The parameters of the model the backend is for: 'auto' keeps a model below AUTO_MIN_PARAMS on
   * one thread. Unknown (undefined): no such cap.
   */
  modelParams?: number;
}

/**
 * The most threads 'auto' asks for. Each thread needs its own ~390 KiB of GEMM scratch, and a
 * dense network's kernel calls (about a dozen per step) are cut into parts of at least the split
 * thresholds (threads/threaded.ts), so a batch of 64 has work for only a few threads.
 */
export const AUTO_THREADS_CAP = 8;

/**
 * The smallest model 'auto' runs on threads. Below it, at the default batch of 32, no update and
 * at most one product per step are large enough to be cut into parts (the split thresholds in
 * threads/threaded.ts), while the shared build runs every small call some 5% slower than the
 * one-thread build (V8's code over a shared memory, measured on an XOR 2-16-1 network): such
 * models are faster, and start in well under a millisecond instead of tens, on one thread.
 */
export const AUTO_MIN_PARAMS = 16_384;

/** The most threads a backend accepts. */
export const MAX_THREADS = 64;

/** What 'auto' means here: the cores available (capped), or 1 with the reason threads cannot run. */
export function autoThreads(): { threads: number; reason?: string } {
  const host = threadHost();
  if ('reason' in host) return { threads: 1, reason: host.reason };
  return { threads: Math.min(host.parallelism, AUTO_THREADS_CAP) };
}

/** `value` as a thread count or 'auto'; a SimdnetError naming `where`'s `threads` option otherwise. */
export function checkThreads(where: string, value: unknown): number | 'auto' {
  if (value === 'auto' || (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_THREADS)) {
    return value as number | 'auto';
  }
  throw invalid(where, 'threads', `'auto' or a whole number of threads from 1 to ${MAX_THREADS}`, value);
}

export async function createBackend(name: BackendName = 'wasm', options: BackendOptions = {}): Promise<Backend> {
  const relaxed = options.relaxed ?? false;
  const threads = checkThreads('createBackend', options.threads ?? 1);
  if (name === 'js') {
    if (relaxed) {
      throw new SimdnetError('relaxed', "createBackend: relaxed SIMD is a build of the 'wasm' backend; backend 'js' has none");
    }
    const asked = threads === 'auto' ? autoThreads().threads : threads;
    return createJsBackend(undefined, asked > 1 ? "the 'js' backend runs on one thread; threads need backend 'wasm'" : undefined);
  }
  if (name === 'wasm') {
    if (!wasmSimdSupported()) {
      throw new SimdnetError(
        'backend',
        "createBackend: backend 'wasm' needs WebAssembly SIMD, which this JavaScript engine does not " +
          "support; use backend 'js' instead",
      );
    }
    return await createThreadsOrOne(relaxed, threads, options.modelParams);
  }
  throw invalid('createBackend', 'backend', "'wasm' or 'js'", name);
}

/** The wasm backend on `threads` threads where they can start, else on one with the reason. */
async function createThreadsOrOne(relaxed: boolean, threads: number | 'auto', modelParams: number | undefined): Promise<Backend> {
  const auto = threads === 'auto' ? autoThreads() : undefined;
  if (auto && auto.threads > 1 && modelParams !== undefined && modelParams < AUTO_MIN_PARAMS) {
    return createWasmBackend({
      relaxed,
      threadsReason: `'auto' runs models under ${AUTO_MIN_PARAMS.toLocaleString('en-US')} parameters on one thread (this one has ` +
        `${modelParams.toLocaleString('en-US')}): their kernel calls are too small to gain from threads; ask for a number to have them anyway`,
    });
  }
  const asked = auto ? auto.threads : (threads as number);
  if (asked <= 1) return createWasmBackend({ relaxed, threadsReason: auto?.reason });
  const threaded = await createThreadedBackend({ relaxed, threads: asked });
  if ('reason' in threaded) return createWasmBackend({ relaxed, threadsReason: threaded.reason });
  return threaded;
}
