/**
 * The wasm backend: the kernels in assembly/, compiled to SIMD WebAssembly and embedded as base64.
 *
 * TypeScript owns the memory plan. The module allocates nothing; this file runs a 16-byte aligned
 * bump allocator over its linear memory, starting at the module's heap base, and reserves at
 * creation the scratch the kernels need (GEMM packing panels and a small hyper-parameter slot), so
 * a later worker pool can give each worker its own.
 */
import { instantiate } from '@assemblyscript/loader';
import { wasmBase64 } from '../wasm/simdnet.generated.js';
import type { ActivationCode, Backend, Ptr } from './backend.js';

/** The raw exports of build/simdnet.wasm: numbers and pointers only; bools are 0/1. */
interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  tmpFloats(): number;
  gemmScratchFloats(): number;
  gemmNN(m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number,
    accumulate: number, scratch: Ptr): void;
  gemmTN(m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number,
    accumulate: number, scratch: Ptr): void;
  gemmNT(m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number,
    accumulate: number, scratch: Ptr): void;
  biasAdd(x: Ptr, bias: Ptr, m: number, n: number): void;
  colSum(x: Ptr, m: number, n: number, out: Ptr, accumulate: number): void;
  activation(act: number, x: Ptr, y: Ptr, m: number, n: number, alpha: number, tmp: Ptr): void;
  biasActivation(act: number, x: Ptr, bias: Ptr, y: Ptr, m: number, n: number, alpha: number, tmp: Ptr): void;
  activationBackward(act: number, a: Ptr, dA: Ptr, dZ: Ptr, m: number, n: number, alpha: number, tmp: Ptr): void;
  lossSigmoidBce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): number;
  lossSoftmaxCce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): number;
  lossMse(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): number;
  countCorrect(a: Ptr, y: Ptr, m: number, n: number): number;
  gatherRows(src: Ptr, index: Ptr, count: number, rowLen: number, dst: Ptr): void;
  copy(src: Ptr, dst: Ptr, n: number): void;
  fill(x: Ptr, n: number, value: number): void;
  allFinite(x: Ptr, n: number): number;
  sgd(w: Ptr, g: Ptr, n: number, lr: number, l2: number, tmp: Ptr): void;
  momentum(w: Ptr, g: Ptr, mom: Ptr, n: number, lr: number, beta: number, t: number, l2: number, tmp: Ptr): void;
  adam(w: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number, lr: number, beta1: number, beta2: number, epsilon: number,
    t: number, l2: number, tmp: Ptr): void;
}

const PAGE_BYTES = 65536;
const MAX_BYTES = 65536 * PAGE_BYTES; // wasm32 limit

/** base64 → bytes without Node built-ins, so the same code runs in browsers. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// Compiled once per process: later backends only instantiate, which is cheap.
let embeddedModule: Promise<WebAssembly.Module> | undefined;

function loadEmbeddedModule(): Promise<WebAssembly.Module> {
  if (embeddedModule === undefined) {
    embeddedModule = WebAssembly.compile(decodeBase64(wasmBase64));
    // Let a failed compile be retried rather than cached.
    embeddedModule.catch(() => { embeddedModule = undefined; });
  }
  return embeddedModule;
}

/**
 * Creates a wasm backend with its own linear memory. By default it uses the embedded module
 * (compiled once and shared); `source.module` or `source.bytes` supply another build of it.
 * Needs WebAssembly SIMD (see wasmSimdSupported in ./index.ts).
 */
export async function createWasmBackend(
  source?: { module?: WebAssembly.Module; bytes?: BufferSource },
): Promise<Backend> {
  const module = source?.module
    ?? (source?.bytes !== undefined ? await WebAssembly.compile(source.bytes) : await loadEmbeddedModule());
  const { instance } = await instantiate(module, {});
  // The raw exports, not the loader's demangled wrappers: those add a rest-argument call per kernel.
  return new WasmBackend(instance.exports as unknown as KernelExports);
}

const align16 = (bytes: number): number => (bytes + 15) & ~15;

class WasmBackend implements Backend {
  readonly name = 'wasm' as const;

  private readonly ex: KernelExports;
  private readonly memory: WebAssembly.Memory;
  private f32View: Float32Array;
  private i32View: Int32Array;
  /** Next free byte (16-aligned); everything below is allocated. */
  private top: number;
  /** Highest top ever reached: memory above it is still zero from the engine. */
  private highWater: number;
  /** First byte the user may release to: below it sit the kernels' scratch regions. */
  private readonly floor: number;
  private readonly gemmScratch: Ptr;
  private readonly tmp: Ptr;

  constructor(ex: KernelExports) {
    this.ex = ex;
    this.memory = ex.memory;
    this.f32View = new Float32Array(this.memory.buffer);
    this.i32View = new Int32Array(this.memory.buffer);
    this.top = align16(ex.heapBase());
    this.highWater = this.top;
    this.gemmScratch = this.alloc(ex.gemmScratchFloats());
    this.tmp = this.alloc(ex.tmpFloats());
    this.floor = this.top;
  }

  // memory.grow detaches the old buffer, which empties its views: a length check is much cheaper
  // than reading memory.buffer (a call into the engine) on every access. (A shared memory is not
  // detached by grow; it would need a byteLength comparison instead.)
  get f32(): Float32Array {
    if (this.f32View.length === 0) this.remakeViews();
    return this.f32View;
  }

  get i32(): Int32Array {
    if (this.i32View.length === 0) this.remakeViews();
    return this.i32View;
  }

  private remakeViews(): void {
    const buffer = this.memory.buffer;
    this.f32View = new Float32Array(buffer);
    this.i32View = new Int32Array(buffer);
  }

  alloc(count: number): Ptr {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`alloc: count must be a non-negative integer, got ${count}`);
    }
    const ptr = this.top;
    const end = ptr + count * 4;
    const next = align16(end);
    if (next > MAX_BYTES) {
      throw new RangeError(`alloc: ${count} floats do not fit in wasm32 memory (${ptr} bytes already in use)`);
    }
    const have = this.f32.byteLength;
    if (next > have) this.grow(Math.ceil((next - have) / PAGE_BYTES), next);
    // Memory released and handed out again may hold old values; fresh memory is already zero.
    const dirtyEnd = Math.min(end, this.highWater);
    if (ptr < dirtyEnd) this.f32.fill(0, ptr >>> 2, dirtyEnd >>> 2);
    this.top = next;
    if (next > this.highWater) this.highWater = next;
    return ptr;
  }

  /** Adds at least `pages` pages; a quarter more when the engine allows, so growth is rare. */
  private grow(pages: number, bytes: number): void {
    const have = this.f32.byteLength / PAGE_BYTES;
    const generous = Math.min(Math.max(pages, Math.ceil(have / 4)), MAX_BYTES / PAGE_BYTES - have);
    try {
      this.memory.grow(generous);
    } catch {
      try {
        this.memory.grow(pages);
      } catch (cause) {
        throw new RangeError(`alloc: could not grow wasm memory to ${bytes} bytes`, { cause });
      }
    }
  }

  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    if (!Number.isInteger(mark) || mark % 16 !== 0 || mark < this.floor || mark > this.top) {
      throw new RangeError(`release: mark must be a value returned by mark() (${this.floor}..${this.top}), got ${mark}`);
    }
    this.top = mark;
  }

  // Strides passed to the kernels are those of whole, contiguous matrices; the kernels also accept
  // sub-blocks (row ranges, column panels) for a future split across workers.
  gemmNN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    this.ex.gemmNN(m, n, k, a, k, b, n, c, n, accumulate ? 1 : 0, this.gemmScratch);
  }

  gemmTN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    this.ex.gemmTN(m, n, k, a, m, b, n, c, n, accumulate ? 1 : 0, this.gemmScratch);
  }

  gemmNT(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    this.ex.gemmNT(m, n, k, a, k, b, k, c, n, accumulate ? 1 : 0, this.gemmScratch);
  }

  biasAdd(x: Ptr, bias: Ptr, m: number, n: number): void {
    this.ex.biasAdd(x, bias, m, n);
  }

  colSum(x: Ptr, m: number, n: number, out: Ptr, accumulate: boolean): void {
    this.ex.colSum(x, m, n, out, accumulate ? 1 : 0);
  }

  activation(act: ActivationCode, x: Ptr, y: Ptr, m: number, n: number, alpha: number): void {
    this.ex.activation(act, x, y, m, n, alpha, this.tmp);
  }

  biasActivation(act: ActivationCode, x: Ptr, bias: Ptr, y: Ptr, m: number, n: number, alpha: number): void {
    this.ex.biasActivation(act, x, bias, y, m, n, alpha, this.tmp);
  }

  activationBackward(act: ActivationCode, a: Ptr, dA: Ptr, dZ: Ptr, m: number, n: number, alpha: number): void {
    this.ex.activationBackward(act, a, dA, dZ, m, n, alpha, this.tmp);
  }

  lossSigmoidBce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): number {
    return this.ex.lossSigmoidBce(z, a, y, dz, m, n);
  }

  lossSoftmaxCce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): number {
    return this.ex.lossSoftmaxCce(z, a, y, dz, m, n);
  }

  lossMse(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): number {
    return this.ex.lossMse(a, y, da, m, n);
  }

  countCorrect(a: Ptr, y: Ptr, m: number, n: number): number {
    return this.ex.countCorrect(a, y, m, n);
  }

  gatherRows(src: Ptr, index: Ptr, count: number, rowLen: number, dst: Ptr): void {
    this.ex.gatherRows(src, index, count, rowLen, dst);
  }

  copy(src: Ptr, dst: Ptr, n: number): void {
    this.ex.copy(src, dst, n);
  }

  fill(x: Ptr, n: number, value: number): void {
    this.ex.fill(x, n, value);
  }

  allFinite(x: Ptr, n: number): number {
    return this.ex.allFinite(x, n);
  }

  sgd(w: Ptr, g: Ptr, n: number, lr: number, l2: number): void {
    this.ex.sgd(w, g, n, lr, l2, this.tmp);
  }

  momentum(w: Ptr, g: Ptr, mom: Ptr, n: number, lr: number, beta: number, t: number, l2: number): void {
    this.ex.momentum(w, g, mom, n, lr, beta, t, l2, this.tmp);
  }

  adam(
    w: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number,
    lr: number, beta1: number, beta2: number, epsilon: number, t: number, l2: number,
  ): void {
    this.ex.adam(w, g, m, v, n, lr, beta1, beta2, epsilon, t, l2, this.tmp);
  }
}
