/**
 * Where threads come from: Node's worker_threads, or the browser's Worker over a Blob URL. Node
 * threads start without the process's execArgv: the source needs no loader or flag (V8 flags such
 * as relaxed SIMD's are process-wide anyway). The
 * library imports no Node built-in (only src/node.ts and src/cli/ may, so that bundles for the
 * browser stay clean); in Node it reaches worker_threads and os through process.getBuiltinModule
 * (Node ≥ 20.16), which no bundler follows.
 */
import type { ChildThread, ThreadInit } from './worker-source.js';

export interface ThreadHost {
  /** Cores available to this process (Node's os.availableParallelism, navigator.hardwareConcurrency). */
  readonly parallelism: number;
  /** Whether this thread may sleep in Atomics.wait (a browser page's main thread may not). */
  readonly canBlock: boolean;
  /**
   * Starts a thread running `init.source` (THREAD_SOURCE, which the pool passes, so that this file
   * loads without it) with `init`. Node threads are unref'd: they never keep the process alive.
   * Throws when the platform refuses (a Content-Security-Policy without blob:).
   */
  start(init: ThreadInit, onMessage: (message: unknown) => void, onFailure: (why: string) => void): ChildThread;
}

interface NodeWorker {
  on(event: string, listener: (value: never) => void): void;
  postMessage(message: unknown): void;
  terminate(): Promise<number>;
  unref(): void;
}
interface NodeBuiltins {
  worker: { Worker: new (source: string, options: object) => NodeWorker };
  os: { availableParallelism?: () => number; cpus(): unknown[] };
}

/** Node's worker_threads and os, or undefined outside Node (or before Node 20.16). */
function nodeBuiltins(): NodeBuiltins | undefined {
  const proc = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.versions?.node !== 'string' || typeof proc.getBuiltinModule !== 'function') return undefined;
  return {
    worker: proc.getBuiltinModule('node:worker_threads') as NodeBuiltins['worker'],
    os: proc.getBuiltinModule('node:os') as NodeBuiltins['os'],
  };
}

function canBlockHere(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

function nodeHost(node: NodeBuiltins): ThreadHost {
  return {
    parallelism: node.os.availableParallelism?.() ?? node.os.cpus().length,
    canBlock: true,
    start(init, onMessage, onFailure) {
      const worker = new node.worker.Worker(init.source, { eval: true, workerData: init, execArgv: [] });
      worker.on('message', onMessage);
      worker.on('error', (err: Error) => onFailure(err.message));
      worker.on('exit', (code: number) => onFailure(`the supervising thread exited with code ${code}`));
      // After the listeners: a 'message' listener added later would ref the worker's port again.
      worker.unref();
      return { terminate: () => void worker.terminate() };
    },
  };
}

function browserHost(): ThreadHost {
  return {
    parallelism: Math.max(1, navigator.hardwareConcurrency || 1),
    canBlock: canBlockHere(),
    start(init, onMessage, onFailure) {
      const url = URL.createObjectURL(new Blob([init.source], { type: 'text/javascript' }));
      let worker: Worker;
      try {
        worker = new Worker(url);
      } catch (err) {
        URL.revokeObjectURL(url);
        throw err;
      }
      worker.onmessage = (event: MessageEvent) => { URL.revokeObjectURL(url); onMessage(event.data); };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        URL.revokeObjectURL(url);
        onFailure(event.message || 'the worker could not start (a Content-Security-Policy without blob: in worker-src?)');
      };
      worker.postMessage(init);
      return { terminate: () => worker.terminate() };
    },
  };
}

/** The thread host of this platform, or the reason there is none. */
export function threadHost(): ThreadHost | { reason: string } {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    return {
      reason: isolated === false
        ? 'SharedArrayBuffer needs a cross-origin-isolated page (COOP/COEP headers, see docs/API.md)'
        : 'this JavaScript engine has no SharedArrayBuffer',
    };
  }
  const node = nodeBuiltins();
  if (node) return nodeHost(node);
  if (typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string') {
    return { reason: 'threads need Node 20.16 or later (process.getBuiltinModule)' };
  }
  if (typeof Worker !== 'function' || typeof Blob !== 'function' || typeof URL.createObjectURL !== 'function') {
    return { reason: 'this environment cannot start Web Workers' };
  }
  return browserHost();
}

/** Cores available, or 1 where threads cannot run. */
export function availableParallelism(): number {
  const host = threadHost();
  return 'reason' in host ? 1 : host.parallelism;
}
