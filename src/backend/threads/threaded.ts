/**
 * The wasm backend on several threads. Every buffer lives in one shared WebAssembly.Memory, laid
 * out by the same memory plan; the calling thread and each worker run the same kernels of a shared
 * build over it, each with its own scratch. A kernel call large enough to repay a hand-off is cut
 * by output: GEMM into ranges of rows or panels of columns of C, row-wise kernels into ranges of
 * rows, the optimizers into ranges of parameters. Every output element is then computed by one
 * thread with exactly the arithmetic one thread would use (the GEMM's k-slabs do not depend on
 * m or n, and its edge tiles run the same micro-kernel over zero padding; activations give a value
 * the same result wherever it sits, assembly/activations.ts), so results are bit-identical for every
 * thread count. Smaller calls, the losses and the sums (column sums, norms) run on the calling thread.
 *
 * The calling thread writes every part's arguments into the control block (protocol.ts), runs
 * part 0 (or a task given to overlap()), then claims and runs parts alongside the workers until
 * none is left.
 */
import type { ActivationCode, Ptr } from '../backend.js';
import { ACTIVATION, derivativeFromZ } from '../backend.js';
import { type KernelExports, WasmBackend } from '../wasm.js';
import { kernelIndex, ThreadPool, ThreadsStoppedError } from './pool.js';
import { LAYOUT, MAX_PARTS, SCRATCH_GEMM, SCRATCH_TMP } from './protocol.js';

const K_GEMM_NN = kernelIndex('gemmNN');
const K_GEMM_TN = kernelIndex('gemmTN');
const K_GEMM_NT = kernelIndex('gemmNT');
const K_GEMM_NT_BACKWARD = kernelIndex('gemmNTBackward');
const K_ACTIVATION = kernelIndex('activation');
const K_BIAS_ACTIVATION = kernelIndex('biasActivation');
const K_ACTIVATION_BACKWARD = kernelIndex('activationBackward');
const K_GATHER_ROWS = kernelIndex('gatherRows');
const K_SGD = kernelIndex('sgd');
const K_MOMENTUM = kernelIndex('momentum');
const K_ADAM = kernelIndex('adam');
const K_SPARSE_GEMM_NN = kernelIndex('sparseGemmNN');
const K_SPARSE_GEMM_TN = kernelIndex('sparseGemmTN');
const K_COPY = kernelIndex('copy');
const K_ALL_FINITE = kernelIndex('allFinite');

/** The GEMM's register tile (assembly/gemm.ts): row parts start on MR, column parts on NR. */
const MR = 2;
const NR = 16;
/** sparseGemmTN lists this many columns of X per pass (assembly/sparse.ts): its row parts start on it. */
const SPARSE_GROUP = 32;
/** The optimizers update two vectors per pass (assembly/optimizers.ts): their parts start on it. */
const UPDATE_ALIGN = 8;

/**
 * The least work worth a part of its own: a smaller part costs more in hand-off (under a
 * microsecond to a polling worker, pool.ts, plus the wait for the slower part) than it saves.
 * GEMM in multiply-adds, the others in floats.
 */
export interface SplitThresholds {
  gemm: number;
  rows: number;
  update: number;
  gather: number;
  /** copy and allFinite, in floats. */
  scan: number;
}

export const DEFAULT_THRESHOLDS: SplitThresholds = { gemm: 1 << 15, rows: 1 << 14, update: 1 << 13, gather: 1 << 14, scan: 1 << 15 };

/** Parts per thread of a call that a task given to overlap() runs beside (#parts). */
const TASK_PARTS = 8;

/** Part 0's share of a sparse product's rows is kept in units of 1 / SHARE_ONE, and moves by BALANCE_STEP (0.4%) after each call. */
const SHARE_BITS = 12;
const SHARE_ONE = 1 << SHARE_BITS;
const BALANCE_STEP = 16;

/** Start of part p of `total` items cut into `parts`, on a multiple of `align` (the last part takes the rest). */
function bound(total: number, p: number, parts: number, align: number): number {
  if (p >= parts) return total;
  return Math.min(total, Math.round((total * p) / parts / align) * align);
}

/**
 * Start of column panel p of a GEMM: on a multiple of NR, and never leaving the last panel one
 * column wide, which would take the kernel's matrix-vector path, whose sums run in another order.
 */
function columnBound(total: number, p: number, parts: number): number {
  if (p >= parts) return total;
  const at = bound(total, parts - 1, parts, NR);
  const last = total - at === 1 ? at - NR : at;
  return Math.min(bound(total, p, parts, NR), Math.max(last, 0));
}

export class ThreadedWasmBackend extends WasmBackend {
  readonly #pool: ThreadPool;
  readonly #limits: SplitThresholds;
  /** The integer copy of the argument table, read when this thread runs a part (ThreadPool.ints). */
  readonly #ints: Int32Array;
  #stopped: string | undefined;
  /** The task given to overlap(), until a split call or settle() runs it. */
  #task: (() => void) | null = null;
  /** Parts the workers had finished when this thread finished part 0 of the last call (#run; −1: it ran a task instead). */
  #othersDone = 0;
  /** Part 0's share of each sparse product (in 1 / SHARE_ONE), by kernel and number of parts (#sparse). */
  readonly #shares = new Map<number, number>();
  /**
   * The call's fractional arguments (alpha, the optimizers' hyper-parameters) as the caller passed
   * them, for the parts this thread runs: read back from the float64 table they would be new
   * HeapNumbers at each call, kept here they are the caller's shared ones (fields that first held
   * null, docs/ARCHITECTURE.md 'Number boxing').
   */
  #x0: number | null = null;
  #x1: number | null = null;
  #x2: number | null = null;
  #x3: number | null = null;
  #x4: number | null = null;

  constructor(ex: KernelExports, memory: WebAssembly.Memory, relaxed: boolean, pool: ThreadPool, limits: SplitThresholds) {
    super(ex, memory, relaxed);
    this.#pool = pool;
    this.#limits = limits;
    this.#ints = pool.ints;
    for (let w = 0; w < pool.workers; w++) {
      pool.setScratch(w, this.allocPermanent(ex.gemmScratchFloats()), this.allocPermanent(ex.tmpFloats()));
    }
  }

  override get threads(): number {
    return this.#stopped === undefined ? this.#pool.workers + 1 : 1;
  }

  /** How often the calling thread slept waiting for a worker, or woke one (ThreadPool.sleeps). */
  get sleeps(): number {
    return this.#pool.sleeps;
  }

  override get threadsReason(): string | undefined {
    return this.#stopped;
  }

  override dispose(): void {
    this.#stopped ??= 'the model was disposed';
    this.#pool.stop();
  }

  /**
   * Parts for `work` units at `perPart` each: 1 (run here, after a task given to overlap) when small,
   * or once the threads have stopped. With a task waiting, TASK_PARTS a thread, so that the workers
   * can take more of the call than this thread while it runs the task.
   */
  #parts(work: number, perPart: number): number {
    const threads = this.#pool.workers + 1;
    const most = this.#task === null ? threads : Math.min(threads * TASK_PARTS, MAX_PARTS);
    const parts = this.#stopped === undefined ? Math.min(most, Math.floor(work / perPart)) : 1;
    if (parts <= 1) {
      if (this.#task !== null) this.settle();
      return 1;
    }
    if (this.#pool.failure !== null) this.#fail();
    return parts;
  }

  /**
   * Publishes the parts written since `begin`, runs part 0 here, then claims parts until none is
   * left, and waits for the rest. Part 0 is always this thread's, and the workers claim from part 1
   * on, so when none is late each part of a split falls to the same thread at every step: the
   * optimizer's state, the weights and the gradients of a range of parameters stay in that core's
   * cache instead of moving between cores (Adam over 109,386 parameters 86 → 44 µs a step on two
   * threads, when parts went to whichever thread claimed first).
   */
  #run(kernel: number): void {
    const pool = this.#pool;
    const task = this.#task;
    let taskFailed = false;
    let taskError: unknown;
    if (task === null) {
      pool.publish(1);
      this.#runHere(kernel, 0);
      this.#othersDone = pool.done;
      pool.partDone();
    } else {
      // overlap(): every part is the workers' to claim while this thread runs the task.
      this.#task = null;
      this.#othersDone = -1;
      pool.publish(0);
      try {
        task();
      } catch (err) {
        taskFailed = true;
        taskError = err;
      }
    }
    for (let p = pool.claim(); p >= 0; p = pool.claim()) {
      this.#runHere(kernel, p);
      pool.partDone();
    }
    try {
      pool.finish();
    } catch (err) {
      this.#stopped = err instanceof ThreadsStoppedError ? this.#pool.failure ?? err.message : String(err);
      throw err;
    }
    if (taskFailed) throw taskError;
  }

  override overlap(task: () => void): void {
    this.settle();
    this.#task = task;
  }

  override settle(): void {
    const task = this.#task;
    if (task === null) return;
    this.#task = null;
    task();
  }

  #fail(): never {
    this.#task = null;
    const failure = this.#pool.failure ?? 'a worker thread stopped';
    this.#stopped = failure;
    this.#pool.stop();
    throw new ThreadsStoppedError(failure);
  }

  /** Runs part p, with this thread's scratch, from the integer copy of its arguments (ThreadPool.ints). */
  #runHere(kernel: number, p: number): void {
    const a = this.#ints;
    const f = p * LAYOUT.args;
    const ex = this.ex;
    switch (kernel) {
      case K_COPY: ex.copy(a[f], a[f + 1], a[f + 2]); break;
      case K_ALL_FINITE: this.#pool.setResult(p, ex.allFinite(a[f], a[f + 1])); break;
      case K_GEMM_NN: ex.gemmNN(a[f], a[f + 1], a[f + 2], a[f + 3], a[f + 4], a[f + 5], a[f + 6], a[f + 7], a[f + 8], a[f + 9], this.gemmScratch); break;
      case K_GEMM_TN: ex.gemmTN(a[f], a[f + 1], a[f + 2], a[f + 3], a[f + 4], a[f + 5], a[f + 6], a[f + 7], a[f + 8], a[f + 9], this.gemmScratch); break;
      case K_GEMM_NT: ex.gemmNT(a[f], a[f + 1], a[f + 2], a[f + 3], a[f + 4], a[f + 5], a[f + 6], a[f + 7], a[f + 8], a[f + 9], this.gemmScratch); break;
      case K_GEMM_NT_BACKWARD:
        ex.gemmNTBackward(a[f], a[f + 1], a[f + 2], a[f + 3], a[f + 4], a[f + 5], a[f + 6], a[f + 7], a[f + 8], a[f + 9], a[f + 10],
          a[f + 11], this.#x0!, this.gemmScratch);
        break;
      case K_ACTIVATION: ex.activation(a[f], a[f + 1], a[f + 2], a[f + 3], a[f + 4], this.#x0!, this.tmp); break;
      case K_BIAS_ACTIVATION: ex.biasActivation(a[f], a[f + 1], a[f + 2], a[f + 3], a[f + 4], a[f + 5], this.#x0!, this.tmp); break;
      case K_ACTIVATION_BACKWARD: ex.activationBackward(a[f], a[f + 1], a[f + 2], a[f + 3], a[f + 4], a[f + 5], this.#x0!, this.tmp); break;
      case K_GATHER_ROWS: ex.gatherRows(a[f], a[f + 1], a[f + 2], a[f + 3], a[f + 4]); break;
      case K_SPARSE_GEMM_NN:
        ex.sparseGemmNN(a[f], a[f + 1], a[f + 2], a[f + 3], a[f + 4], a[f + 5], a[f + 6], a[f + 7], a[f + 8], a[f + 9], this.gemmScratch);
        break;
      case K_SPARSE_GEMM_TN:
        ex.sparseGemmTN(a[f], a[f + 1], a[f + 2], a[f + 3], a[f + 4], a[f + 5], a[f + 6], a[f + 7], a[f + 8], a[f + 9], this.gemmScratch);
        break;
      case K_SGD: ex.sgd(a[f], a[f + 1], a[f + 2], this.#x0!, this.#x1!, this.tmp); break;
      case K_MOMENTUM: ex.momentum(a[f], a[f + 1], a[f + 2], a[f + 3], this.#x0!, this.#x1!, a[f + 6], this.#x2!, this.tmp); break;
      default:
        ex.adam(a[f], a[f + 1], a[f + 2], a[f + 3], a[f + 4], this.#x0!, this.#x1!, this.#x2!, this.#x3!, a[f + 9], this.#x4!, this.tmp);
    }
  }

  override gemmNN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    const parts = this.#parts(m * n * k, this.#limits.gemm);
    if (parts <= 1) return super.gemmNN(m, n, k, a, b, c, accumulate);
    this.#gemm(K_GEMM_NN, parts, m, n, k, a, k, k, b, n, 1, n, c, accumulate ? 1 : 0);
  }

  override gemmTN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    const parts = this.#parts(m * n * k, this.#limits.gemm);
    if (parts <= 1) return super.gemmTN(m, n, k, a, b, c, accumulate);
    this.#gemm(K_GEMM_TN, parts, m, n, k, a, m, 1, b, n, 1, n, c, accumulate ? 1 : 0);
  }

  override gemmNT(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    const parts = this.#parts(m * n * k, this.#limits.gemm);
    if (parts <= 1) return super.gemmNT(m, n, k, a, b, c, accumulate);
    this.#gemm(K_GEMM_NT, parts, m, n, k, a, k, k, b, k, k, n, c, accumulate ? 1 : 0);
  }

  /**
   * One GEMM in parts. op(A)'s row i starts at a + 4·i·aRow, op(B)'s column j at b + 4·j·bCol;
   * lda, ldb are the strides the kernel takes. Rows of C are cut when C is at least as tall as it is
   * wide (each part then packs all of op(B), the smaller operand), else columns (each packs op(A)).
   */
  #gemm(
    kernel: number, parts: number, m: number, n: number, k: number, a: Ptr, lda: number, aRow: number,
    b: Ptr, ldb: number, bCol: number, ldc: number, c: Ptr, accumulate: number,
  ): void {
    const byRows = m >= n;
    const total = byRows ? m : n;
    this.#pool.begin(kernel, parts, 10, SCRATCH_GEMM);
    for (let p = 0; p < parts; p++) {
      const from = byRows ? bound(total, p, parts, MR) : columnBound(total, p, parts);
      const size = (byRows ? bound(total, p + 1, parts, MR) : columnBound(total, p + 1, parts)) - from;
      if (byRows) this.#pool.part(p, size, n, k, a + 4 * from * aRow, lda, b, ldb, c + 4 * from * ldc, ldc, accumulate, 0, 0, 0, 0);
      else this.#pool.part(p, m, size, k, a, lda, b + 4 * from * bCol, ldb, c + 4 * from, ldc, accumulate, 0, 0, 0, 0);
    }
    this.#run(kernel);
  }

  // The sparse first layer's products (assembly/sparse.ts): always by rows of C, so that each part
  // lists the nonzeros of its own rows (NN) or columns (TN) of X only.
  override sparseGemmNN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    const parts = this.#parts(m * n * k, this.#limits.gemm);
    if (parts <= 1) return super.sparseGemmNN(m, n, k, a, b, c, accumulate);
    this.#sparse(K_SPARSE_GEMM_NN, parts, MR, m, n, k, a, k, k, b, c, accumulate ? 1 : 0);
  }

  override sparseGemmTN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    const parts = this.#parts(m * n * k, this.#limits.gemm);
    if (parts <= 1) return super.sparseGemmTN(m, n, k, a, b, c, accumulate);
    this.#sparse(K_SPARSE_GEMM_TN, parts, SPARSE_GROUP, m, n, k, a, m, 1, b, c, accumulate ? 1 : 0);
  }

  /**
   * The work of a sparse product depends on where the nonzeros are, not only on the rows: MNIST's
   * first 384 pixels hold 47% of its nonzeros, so even halves of dW = Xᵀ·dZ leave one thread
   * waiting. So the rows are cut by a share learnt from the calls before, which also
   * gives less to a thread that other work on the machine slows down. Where a cut falls changes
   * no bit (each row of C is computed whole by one thread).
   */
  #sparse(
    kernel: number, parts: number, align: number, m: number, n: number, k: number, a: Ptr, lda: number, aRow: number,
    b: Ptr, c: Ptr, accumulate: number,
  ): void {
    const key = kernel * 256 + parts;
    const share = this.#shares.get(key) ?? ((SHARE_ONE / parts) | 0);
    // Part 0's rows from its share, in small integers only (no number is boxed before the code is
    // optimized, test/alloc.test.ts); align is a power of two. The other parts share the rest evenly.
    const first = m < 1 << 18 ? Math.min(m, (((m * share) >> SHARE_BITS) + (align >> 1)) & -align) : bound(m, 1, parts, align);
    this.#pool.begin(kernel, parts, 10, SCRATCH_GEMM);
    for (let p = 0; p < parts; p++) {
      const from = p === 0 ? 0 : first + bound(m - first, p - 1, parts - 1, align);
      const to = p === 0 ? first : first + bound(m - first, p, parts - 1, align);
      this.#pool.part(p, to - from, n, k, a + 4 * from * aRow, lda, b, n, c + 4 * from * n, n, accumulate, 0, 0, 0, 0);
    }
    this.#run(kernel);
    // When every other part had ended by the time this thread finished part 0, part 0 was too
    // large, and when none had, too small: its share moves by BALANCE_STEP. No clock: reading one
    // the few times a step would allocate a number each time.
    const others = this.#othersDone;
    if (others === parts - 1) this.#shares.set(key, Math.max(share - BALANCE_STEP, (SHARE_ONE / parts / 2) | 0));
    else if (others === 0) this.#shares.set(key, Math.min(share + BALANCE_STEP, SHARE_ONE - ((SHARE_ONE / parts / 2) | 0)));
  }

  override gemmNTBackward(
    act: ActivationCode, m: number, n: number, k: number, dz: Ptr, w: Ptr, aPrev: Ptr, out: Ptr, alpha: number,
  ): void {
    const parts = this.#parts(m * n * k, this.#limits.gemm);
    if (parts <= 1) return super.gemmNTBackward(act, m, n, k, dz, w, aPrev, out, alpha);
    if (act === ACTIVATION.softmax || derivativeFromZ(act)) {
      // As WasmBackend.gemmNTBackward: the product in parts, then the backward pass over it.
      this.gemmNT(m, n, k, dz, w, out, false);
      this.activationBackward(act, aPrev, out, out, m, n, alpha);
      return;
    }
    // Rows of dZ_prev: each part reads its rows of dz and aPrev, and all of w.
    this.#x0 = alpha;
    this.#pool.begin(K_GEMM_NT_BACKWARD, parts, 13, SCRATCH_GEMM);
    for (let p = 0; p < parts; p++) {
      const from = bound(m, p, parts, MR);
      const rows = bound(m, p + 1, parts, MR) - from;
      this.#pool.part(p, act, rows, n, k, dz + 4 * from * k, k, w, k, out + 4 * from * n, n, aPrev + 4 * from * n, n, alpha, 0);
    }
    this.#run(K_GEMM_NT_BACKWARD);
  }

  override activation(act: ActivationCode, x: Ptr, y: Ptr, m: number, n: number, alpha: number): void {
    const parts = this.#parts(m * n, this.#limits.rows);
    if (parts <= 1) return super.activation(act, x, y, m, n, alpha);
    this.#x0 = alpha;
    this.#pool.begin(K_ACTIVATION, parts, 6, SCRATCH_TMP);
    for (let p = 0; p < parts; p++) {
      const from = bound(m, p, parts, 1);
      const at = 4 * from * n;
      this.#pool.part(p, act, x + at, y + at, bound(m, p + 1, parts, 1) - from, n, alpha, 0, 0, 0, 0, 0, 0, 0, 0);
    }
    this.#run(K_ACTIVATION);
  }

  override biasActivation(act: ActivationCode, x: Ptr, bias: Ptr, y: Ptr, m: number, n: number, alpha: number): void {
    const parts = this.#parts(m * n, this.#limits.rows);
    if (parts <= 1) return super.biasActivation(act, x, bias, y, m, n, alpha);
    this.#x0 = alpha;
    this.#pool.begin(K_BIAS_ACTIVATION, parts, 7, SCRATCH_TMP);
    for (let p = 0; p < parts; p++) {
      const from = bound(m, p, parts, 1);
      const at = 4 * from * n;
      this.#pool.part(p, act, x + at, bias, y + at, bound(m, p + 1, parts, 1) - from, n, alpha, 0, 0, 0, 0, 0, 0, 0);
    }
    this.#run(K_BIAS_ACTIVATION);
  }

  override activationBackward(act: ActivationCode, a: Ptr, dA: Ptr, dZ: Ptr, m: number, n: number, alpha: number): void {
    const parts = this.#parts(m * n, this.#limits.rows);
    if (parts <= 1) return super.activationBackward(act, a, dA, dZ, m, n, alpha);
    this.#x0 = alpha;
    this.#pool.begin(K_ACTIVATION_BACKWARD, parts, 7, SCRATCH_TMP);
    for (let p = 0; p < parts; p++) {
      const from = bound(m, p, parts, 1);
      const at = 4 * from * n;
      this.#pool.part(p, act, a + at, dA + at, dZ + at, bound(m, p + 1, parts, 1) - from, n, alpha, 0, 0, 0, 0, 0, 0, 0);
    }
    this.#run(K_ACTIVATION_BACKWARD);
  }

  override gatherRows(src: Ptr, index: Ptr, count: number, rowLen: number, dst: Ptr): void {
    const parts = this.#parts(count * rowLen, this.#limits.gather);
    if (parts <= 1) return super.gatherRows(src, index, count, rowLen, dst);
    this.#pool.begin(K_GATHER_ROWS, parts, 0, 0);
    for (let p = 0; p < parts; p++) {
      const from = bound(count, p, parts, 1);
      this.#pool.part(p, src, index + 4 * from, bound(count, p + 1, parts, 1) - from, rowLen, dst + 4 * from * rowLen, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
    this.#run(K_GATHER_ROWS);
  }

  // Copies and checks of long spans (the non-finite guard's saves and checks of the parameters and
  // the optimizer's state): ranges of floats, results combined in part order.
  override copy(src: Ptr, dst: Ptr, n: number): void {
    const parts = this.#scan(K_COPY, n, src, dst);
    if (parts <= 1) super.copy(src, dst, n);
  }

  override allFinite(x: Ptr, n: number): number {
    const parts = this.#scan(K_ALL_FINITE, n, x, 0);
    if (parts <= 1) return super.allFinite(x, n);
    let all = 1;
    for (let p = 0; p < parts; p++) if (this.#pool.result(p) === 0) all = 0;
    return all;
  }

  /** Runs a scan of n floats from x (and to y, for copy) in parts; returns the parts, 1: not split, run nothing. */
  #scan(kernel: number, n: number, x: Ptr, y: Ptr): number {
    const parts = this.#parts(n, this.#limits.scan);
    if (parts <= 1) return parts;
    this.#pool.begin(kernel, parts, 0, 0);
    for (let p = 0; p < parts; p++) {
      const from = bound(n, p, parts, UPDATE_ALIGN);
      const count = bound(n, p + 1, parts, UPDATE_ALIGN) - from;
      if (kernel === K_COPY) this.#pool.part(p, x + 4 * from, y + 4 * from, count, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
      else this.#pool.part(p, x + 4 * from, count, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
    this.#run(kernel);
    return parts;
  }

  // The optimizers: ranges of parameters, each a whole number of two-vector passes but the last.
  override sgd(w: Ptr, g: Ptr, n: number, lr: number, l2: number): void {
    const parts = this.#parts(n, this.#limits.update);
    if (parts <= 1) return super.sgd(w, g, n, lr, l2);
    this.#x0 = lr;
    this.#x1 = l2;
    this.#pool.begin(K_SGD, parts, 5, SCRATCH_TMP);
    for (let p = 0; p < parts; p++) {
      const from = bound(n, p, parts, UPDATE_ALIGN);
      this.#pool.part(p, w + 4 * from, g + 4 * from, bound(n, p + 1, parts, UPDATE_ALIGN) - from, lr, l2, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
    this.#run(K_SGD);
  }

  override momentum(w: Ptr, g: Ptr, mom: Ptr, n: number, lr: number, beta: number, t: number, l2: number): void {
    const parts = this.#parts(n, this.#limits.update);
    if (parts <= 1) return super.momentum(w, g, mom, n, lr, beta, t, l2);
    this.#x0 = lr;
    this.#x1 = beta;
    this.#x2 = l2;
    this.#pool.begin(K_MOMENTUM, parts, 8, SCRATCH_TMP);
    for (let p = 0; p < parts; p++) {
      const from = bound(n, p, parts, UPDATE_ALIGN);
      const at = 4 * from;
      this.#pool.part(p, w + at, g + at, mom + at, bound(n, p + 1, parts, UPDATE_ALIGN) - from, lr, beta, t, l2, 0, 0, 0, 0, 0, 0);
    }
    this.#run(K_MOMENTUM);
  }

  override adam(
    w: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number,
    lr: number, beta1: number, beta2: number, epsilon: number, t: number, l2: number,
  ): void {
    const parts = this.#parts(n, this.#limits.update);
    if (parts <= 1) return super.adam(w, g, m, v, n, lr, beta1, beta2, epsilon, t, l2);
    this.#x0 = lr;
    this.#x1 = beta1;
    this.#x2 = beta2;
    this.#x3 = epsilon;
    this.#x4 = l2;
    this.#pool.begin(K_ADAM, parts, 11, SCRATCH_TMP);
    for (let p = 0; p < parts; p++) {
      const from = bound(n, p, parts, UPDATE_ALIGN);
      const at = 4 * from;
      this.#pool.part(p, w + at, g + at, m + at, v + at, bound(n, p + 1, parts, UPDATE_ALIGN) - from, lr, beta1, beta2, epsilon, t, l2, 0, 0, 0);
    }
    this.#run(K_ADAM);
  }
}

export { ThreadsStoppedError };
