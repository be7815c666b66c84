/**
 * A wasm backend on `threads` threads: the shared build over a shared memory, its worker threads
 * started and ready, or the reason it could not be had (the caller then uses one thread).
 */
import { loadEmbeddedModule, MAX_PAGES, type KernelExports } from '../wasm.js';
import { threadHost } from './host.js';
import { ThreadPool } from './pool.js';
import type { KernelName } from './protocol.js';
import { DEFAULT_THRESHOLDS, ThreadedWasmBackend, type SplitThresholds } from './threaded.js';

export interface ThreadedOptions {
  relaxed: boolean;
  /** Threads in all, the calling one included (≥ 2). */
  threads: number;
  /** Tuning and test hooks (bench/, test/): polls before sleeping, split thresholds, a worker that fails. */
  spin?: number;
  thresholds?: Partial<SplitThresholds>;
  failAt?: number;
  fault?: 'throw' | 'oom';
  faultKernel?: KernelName;
}

/**
 * Tuning and test hooks applied to every threaded backend created after they are set (bench/
 * and test/ only; empty otherwise).
 */
export const threadTuning: Omit<Partial<ThreadedOptions>, 'relaxed' | 'threads'> = {};

/** A shared memory as large as wasm32 allows, or a quarter of that where the engine refuses the reservation. */
function sharedMemory(): WebAssembly.Memory {
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  } catch {
    return new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES / 4, shared: true });
  }
}

/** The backend, or why it could not start. */
export async function createThreadedBackend(given: ThreadedOptions): Promise<ThreadedWasmBackend | { reason: string }> {
  const options = { ...threadTuning, ...given };
  const host = threadHost();
  if ('reason' in host) return host;
  let memory: WebAssembly.Memory;
  let module: WebAssembly.Module;
  let kernels: KernelExports;
  try {
    module = await loadEmbeddedModule(options.relaxed, true);
    memory = sharedMemory();
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    kernels = instance.exports as unknown as KernelExports;
  } catch (err) {
    return { reason: `a shared WebAssembly memory could not be set up (${(err as Error).message})` };
  }
  let pool: ThreadPool;
  try {
    pool = await ThreadPool.start({
      host, module, memory, workers: options.threads - 1, spin: options.spin,
      failAt: options.failAt, fault: options.fault, faultKernel: options.faultKernel,
    });
  } catch (err) {
    return { reason: `the worker threads could not start (${(err as Error).message})` };
  }
  return new ThreadedWasmBackend(kernels, memory, options.relaxed, pool, { ...DEFAULT_THRESHOLDS, ...options.thresholds });
}
