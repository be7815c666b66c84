/**
 * The calling thread's side of a model's threads: starts them (a supervisor and its kernel
 * workers, worker-source.ts), publishes kernel calls cut into parts (protocol.ts), claims parts
 * itself, waits for the rest, and stops the threads.
 *
 * Synchronisation per call: one store publishes it (plus a notify only when a worker sleeps),
 * a compare-and-swap claims each part, an add counts it done. Workers poll for a while before they
 * sleep: calls within a training step follow each other within microseconds, and a hand-off to a
 * polling thread takes under a microsecond, against tens of microseconds to wake a sleeping one.
 */
import type { ThreadHost } from './host.js';
import { CONTROL_BYTES, KERNEL_NAMES, LAYOUT, MAX_PARTS, type KernelName } from './protocol.js';
import { ThreadsStoppedError } from './stopped.js';
import { THREAD_SOURCE, type ChildThread, type ThreadInit } from './worker-source.js';

/** Atomics.load polls before a thread sleeps: about 0.1–0.3 ms here. */
export const DEFAULT_SPIN = 100_000;
/** How long starting the threads may take before the model runs on one thread instead. */
const START_TIMEOUT_MS = 20_000;
/** A sleeping caller wakes this often to check the failure word (the supervisor also notifies it). */
const WAIT_SLICE_MS = 200;

export { ThreadsStoppedError };

export interface PoolOptions {
  host: ThreadHost;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Kernel workers: threads besides the calling one. */
  workers: number;
  spin?: number;
  failAt?: number;
  fault?: 'throw' | 'oom';
  faultKernel?: KernelName;
}

export class ThreadPool {
  readonly workers: number;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  /**
   * The arguments again as 32-bit integers, for this thread only: a float64 read back from the
   * table is a new heap number in code V8 has not optimized (yet, or again after a deopt), and the
   * calling thread runs parts on the training step's path, which allocates nothing.
   */
  readonly ints = new Int32Array(MAX_PARTS * LAYOUT.args);
  private readonly spin: number;
  private readonly canBlock: boolean;
  private readonly supervisor: ChildThread;
  /** The current call: its generation (CLAIM's high bits) and parts. */
  private generation = 0;
  private parts = 0;
  #failure: string | null = null;
  #stopped = false;
  #sleeps = 0;

  private constructor(options: PoolOptions, control: SharedArrayBuffer, supervisor: ChildThread) {
    this.workers = options.workers;
    this.i32 = new Int32Array(control);
    this.f64 = new Float64Array(control);
    this.spin = options.spin ?? DEFAULT_SPIN;
    this.canBlock = options.host.canBlock;
    this.supervisor = supervisor;
  }

  /** Starts the threads; resolves once every worker has instantiated the kernels over the memory. */
  static async start(options: PoolOptions): Promise<ThreadPool> {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const init: ThreadInit = {
      role: 'supervisor', module: options.module, memory: options.memory, control, layout: LAYOUT,
      kernels: KERNEL_NAMES, workers: options.workers, index: -1, spin: options.spin ?? DEFAULT_SPIN,
      source: THREAD_SOURCE, failAt: options.failAt ?? -1, fault: options.fault ?? 'throw',
      faultKernel: options.faultKernel === undefined ? -1 : kernelIndex(options.faultKernel),
    };
    const made: { pool?: ThreadPool } = {};
    let settle: ((why: string | null) => void) | undefined;
    const started = new Promise<string | null>((resolve) => { settle = resolve; });
    const onMessage = (message: unknown): void => {
      const type = (message as { type?: string } | null)?.type;
      if (type === 'ready') settle?.(null);
      else if (type === 'failed') settle?.(String((message as { message?: unknown }).message));
    };
    const onFailure = (why: string): void => {
      const text = `the supervising thread stopped: ${why}`;
      if (made.pool && !made.pool.#stopped) made.pool.#noteFailure(text);
      settle?.(text);
    };
    const pool = new ThreadPool(options, control, options.host.start(init, onMessage, onFailure));
    made.pool = pool;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`the worker threads did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    });
    const failure = await Promise.race([started, timeout]);
    clearTimeout(timer);
    if (failure !== null) {
      pool.stop();
      throw new Error(failure);
    }
    return pool;
  }

  /** Tells worker w where its GEMM scratch and its tmp slot are (before any call). */
  setScratch(w: number, scratch: number, tmp: number): void {
    const slot = LAYOUT.slot0 + w * LAYOUT.slotInts;
    this.i32[slot + LAYOUT.scratch] = scratch;
    this.i32[slot + LAYOUT.tmp] = tmp;
  }

  /** Why the threads stopped, or null while they run. */
  get failure(): string | null {
    if (this.#failure === null && Atomics.load(this.i32, LAYOUT.failed) !== 0) this.#noteFailure(this.#message());
    return this.#failure;
  }

  /**
   * Starts describing a call of `parts` parts (≤ MAX_PARTS): a worker replaces argument
   * `scratchArg` with its own scratch of `scratchKind` (protocol.ts; 0: none). Then `part` for each
   * part, `publish`, `claim` until it returns −1, and `finish`.
   */
  begin(kernel: number, parts: number, scratchArg: number, scratchKind: number): void {
    if (parts > MAX_PARTS) throw new RangeError(`ThreadPool: ${parts} parts, at most ${MAX_PARTS}`);
    const i32 = this.i32;
    i32[LAYOUT.kernel] = kernel;
    i32[LAYOUT.scratchArg] = scratchArg;
    i32[LAYOUT.scratchKind] = scratchKind;
    this.parts = parts;
  }

  /** The arguments of part p in order, zeros for the ones the kernel does not take. */
  part(
    p: number, a0: number, a1: number, a2: number, a3: number, a4: number, a5: number, a6: number,
    a7: number, a8: number, a9: number, a10: number, a11: number, a12: number, a13: number,
  ): void {
    const f = (LAYOUT.argsByte >> 3) + p * LAYOUT.args;
    const args = this.f64;
    args[f] = a0; args[f + 1] = a1; args[f + 2] = a2; args[f + 3] = a3; args[f + 4] = a4; args[f + 5] = a5;
    args[f + 6] = a6; args[f + 7] = a7; args[f + 8] = a8; args[f + 9] = a9; args[f + 10] = a10; args[f + 11] = a11;
    args[f + 12] = a12; args[f + 13] = a13;
    const i = p * LAYOUT.args;
    const ints = this.ints;
    ints[i] = a0; ints[i + 1] = a1; ints[i + 2] = a2; ints[i + 3] = a3; ints[i + 4] = a4; ints[i + 5] = a5;
    ints[i + 6] = a6; ints[i + 7] = a7; ints[i + 8] = a8; ints[i + 9] = a9; ints[i + 10] = a10; ints[i + 11] = a11;
    ints[i + 12] = a12; ints[i + 13] = a13;
  }

  /**
   * Makes the described call claimable from part `first` on (1 when the caller runs part 0
   * itself), waking sleeping workers. CLAIM holds the generation, the
   * parts and the next part together, so that a claim made with an old reading fails: a thread
   * that wins one holds a part of the current call, whose arguments stay put until it is done.
   */
  publish(first: number): void {
    const i32 = this.i32;
    Atomics.store(i32, LAYOUT.done, 0);
    this.generation = (this.generation + 1) & 0x7ffff;
    Atomics.store(i32, LAYOUT.claim, (this.generation << 12) | (this.parts << 6) | first);
    if (Atomics.load(i32, LAYOUT.sleepers) > 0) {
      this.#sleeps++;
      Atomics.notify(i32, LAYOUT.claim);
    }
  }

  /** The next unclaimed part of the call, now this thread's to run (then `partDone`), or −1. */
  claim(): number {
    const i32 = this.i32;
    for (;;) {
      const claim = Atomics.load(i32, LAYOUT.claim);
      const part = claim & 63;
      if (part >= this.parts) return -1;
      if (Atomics.compareExchange(i32, LAYOUT.claim, claim, claim + 1) === claim) return part;
    }
  }

  /** What part p's kernel returned (RESULTS, protocol.ts). */
  result(p: number): number {
    return this.i32[LAYOUT.results + p];
  }

  /** Records what part p's kernel returned, when this thread ran it. */
  setResult(p: number, value: number): void {
    this.i32[LAYOUT.results + p] = value;
  }

  /**
   * Times this thread slept waiting for a worker or woke a sleeping one: each allocates some tens of
   * bytes inside the engine's Atomics.wait / Atomics.notify (V8), the one allocation a training step
   * can make, and only when a worker was late or idle long enough to sleep (test/alloc.test.ts).
   */
  get sleeps(): number {
    return this.#sleeps;
  }

  /** Parts of the current call finished so far. */
  get done(): number {
    return Atomics.load(this.i32, LAYOUT.done);
  }

  partDone(): void {
    Atomics.add(this.i32, LAYOUT.done, 1);
  }

  /**
   * Waits until every part is done: polls, then sleeps where this thread may. Throws
   * ThreadsStoppedError (after the live workers have finished their parts) when a worker stopped.
   */
  finish(): void {
    const i32 = this.i32;
    for (let spin = 0; spin < this.spin; spin++) if (Atomics.load(i32, LAYOUT.done) === this.parts) return;
    for (;;) {
      const done = Atomics.load(i32, LAYOUT.done);
      if (done === this.parts) return;
      if (Atomics.load(i32, LAYOUT.failed) !== 0) break;
      if (this.canBlock) {
        Atomics.store(i32, LAYOUT.waiting, 1);
        this.#sleeps++;
        Atomics.wait(i32, LAYOUT.done, done, WAIT_SLICE_MS);
        Atomics.store(i32, LAYOUT.waiting, 0);
      }
    }
    this.#settleWorkers();
    this.check();
  }

  /** After a failure: waits until no live worker runs a part, so nothing writes memory behind the caller. */
  #settleWorkers(): void {
    const i32 = this.i32;
    for (let w = 0; w < this.workers; w++) {
      const slot = LAYOUT.slot0 + w * LAYOUT.slotInts;
      while (Atomics.load(i32, slot + LAYOUT.state) !== 0 && Atomics.load(i32, slot + LAYOUT.dead) === 0) {
        if (this.canBlock) Atomics.wait(i32, slot + LAYOUT.state, 1, 1);
      }
    }
  }

  /** Throws ThreadsStoppedError, stopping the threads, when one of them has failed. */
  check(): void {
    const failure = this.failure;
    if (failure !== null) {
      this.stop();
      throw new ThreadsStoppedError(failure);
    }
  }

  /** Stops every thread (idempotent). Their scratch stays allocated in the model's memory. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const i32 = this.i32;
    Atomics.store(i32, LAYOUT.stopping, 1);
    Atomics.store(i32, LAYOUT.claim, -1);
    Atomics.notify(i32, LAYOUT.claim);
    this.supervisor.terminate();
  }

  #noteFailure(text: string): void {
    if (this.#failure === null) this.#failure = text;
  }

  #message(): string {
    const length = Atomics.load(this.i32, LAYOUT.messageLength);
    let text = '';
    for (let i = 0; i < length; i++) text += String.fromCharCode(this.i32[LAYOUT.message + i]);
    return text || 'a worker thread stopped';
  }
}

/** The index of a kernel in the workers' table. */
export function kernelIndex(name: KernelName): number {
  return KERNEL_NAMES.indexOf(name);
}
