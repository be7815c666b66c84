/**
 * The wasm backend: the kernels in assembly/, compiled to SIMD WebAssembly and embedded in the
 * script (deflated, then base64: see scripts/embed-wasm.mjs).
 * Two builds of the same sources are embedded: the default one (plain SIMD, the same bits on every
 * engine) and an opt-in relaxed-SIMD one whose GEMM uses fused multiply-add (see `relaxed` below).
 *
 * TypeScript owns the memory plan. The module allocates nothing; this file runs a 16-byte aligned
 * bump allocator over its linear memory, starting at the module's heap base, and reserves at
 * creation the scratch the kernels need (GEMM packing panels and a small hyper-parameter slot);
 * the threaded backend (threads/threaded.ts) gives each worker its own as well.
 */
import { SimdnetError } from '../errors.js';
import { wasmDeflated } from '../wasm/simdnet.generated.js';
import { ACTIVATION, derivativeFromZ, type ActivationCode, type Backend, type Ptr } from './backend.js';
import { BumpAllocator, type GrowableMemory } from './bump.js';

/** The raw exports of build/simdnet.wasm: numbers and pointers only; bools are 0/1. */
export interface KernelExports {
  heapBase(): number;
  tmpFloats(): number;
  gemmScratchFloats(): number;
  gemmNN(m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number,
    accumulate: number, scratch: Ptr): void;
  gemmTN(m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number,
    accumulate: number, scratch: Ptr): void;
  gemmNT(m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number,
    accumulate: number, scratch: Ptr): void;
  gemmNTBackward(act: number, m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number,
    c: Ptr, ldc: number, p: Ptr, ldp: number, alpha: number, scratch: Ptr): void;
  sparseGemmNN(m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number,
    accumulate: number, scratch: Ptr): void;
  sparseGemmTN(m: number, n: number, k: number, a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number,
    accumulate: number, scratch: Ptr): void;
  biasAdd(x: Ptr, bias: Ptr, m: number, n: number): void;
  colSum(x: Ptr, m: number, n: number, out: Ptr, accumulate: number): void;
  activation(act: number, x: Ptr, y: Ptr, m: number, n: number, alpha: number, tmp: Ptr): void;
  biasActivation(act: number, x: Ptr, bias: Ptr, y: Ptr, m: number, n: number, alpha: number, tmp: Ptr): void;
  biasActivationKeep(act: number, z: Ptr, bias: Ptr, a: Ptr, m: number, n: number, alpha: number, tmp: Ptr): void;
  activationBackward(act: number, a: Ptr, dA: Ptr, dZ: Ptr, m: number, n: number, alpha: number, tmp: Ptr): void;
  lossSigmoidBce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): number;
  lossSoftmaxCce(z: Ptr, a: Ptr, y: Ptr, dz: Ptr, m: number, n: number): number;
  lossMse(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): number;
  lossMae(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): number;
  lossHuber(a: Ptr, y: Ptr, da: Ptr, m: number, n: number, delta: number): number;
  countCorrect(a: Ptr, y: Ptr, m: number, n: number): number;
  gatherRows(src: Ptr, index: Ptr, count: number, rowLen: number, dst: Ptr): void;
  copy(src: Ptr, dst: Ptr, n: number): void;
  fill(x: Ptr, n: number, value: number): void;
  allFinite(x: Ptr, n: number): number;
  countNonzeroFinite(x: Ptr, n: number): number;
  sgd(w: Ptr, g: Ptr, n: number, lr: number, l2: number, tmp: Ptr): void;
  momentum(w: Ptr, g: Ptr, mom: Ptr, n: number, lr: number, beta: number, t: number, l2: number, tmp: Ptr): void;
  adam(w: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number, lr: number, beta1: number, beta2: number, epsilon: number,
    t: number, l2: number, tmp: Ptr): void;
  sgdMomentum(w: Ptr, g: Ptr, acc: Ptr, n: number, lr: number, mu: number, nesterov: number, l2: number, tmp: Ptr): void;
  rmsprop(w: Ptr, g: Ptr, ms: Ptr, mom: Ptr, mg: Ptr, n: number, lr: number, rho: number, epsilon: number, mu: number,
    centered: number, tmp: Ptr): void;
  adagrad(w: Ptr, g: Ptr, acc: Ptr, n: number, lr: number, epsilon: number, tmp: Ptr): void;
  adamw(w: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number, lr: number, beta1: number, beta2: number, epsilon: number,
    weightDecay: number, t: number, tmp: Ptr): void;
  sumSquares(x: Ptr, n: number, out: Ptr): void;
  scaleInPlace(x: Ptr, n: number, s: number, tmp: Ptr): void;
  clampInPlace(x: Ptr, n: number, c: number, tmp: Ptr): void;
  regularizerGradient(w: Ptr, dw: Ptr, n: number, l1: number, l2: number, tmp: Ptr): void;
  regularizerPenalty(w: Ptr, n: number, l1: number, l2: number, out: Ptr): void;
  dropout(x: Ptr, y: Ptr, n: number, first: number, rate: number, seed: number, step: number, layer: number, tmp: Ptr): void;
  batchNormTrain(x: Ptr, m: number, n: number, bias: Ptr, gamma: Ptr, beta: Ptr, epsilon: number,
    mean: Ptr, variance: Ptr, invStd: Ptr, xhat: Ptr, y: Ptr): void;
  batchNormBackward(dy: Ptr, xhat: Ptr, m: number, n: number, gamma: Ptr, invStd: Ptr, dgamma: Ptr, dbeta: Ptr, dx: Ptr): void;
  batchNormInference(x: Ptr, m: number, n: number, bias: Ptr, gamma: Ptr, beta: Ptr, mean: Ptr, variance: Ptr, epsilon: number,
    scale: Ptr, y: Ptr): void;
  movingAverage(moving: Ptr, batch: Ptr, n: number, momentum: number): void;
}

export const PAGE_BYTES = 65536;
export const MAX_PAGES = 65536; // wasm32 limit
const MAX_BYTES = MAX_PAGES * PAGE_BYTES;

/** base64 → bytes without Node built-ins, so the same code runs in browsers. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The smallest module that uses a relaxed-SIMD instruction:
 * `(func (result v128) i32.const 0 i32x4.splat (×3) f32x4.relaxed_madd)`. Engines without relaxed
 * SIMD enabled reject it at validation.
 */
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x13, 0x01, 0x11, 0x00, // code section: one body of 17 bytes, no locals
  0x41, 0x00, 0xfd, 0x11, 0x41, 0x00, 0xfd, 0x11, 0x41, 0x00, 0xfd, 0x11, // three zero vectors
  0xfd, 0x85, 0x02, 0x0b, // f32x4.relaxed_madd; end
]);

/**
 * True when this engine accepts WebAssembly relaxed SIMD now. Node 20 needs a V8 flag for it: start
 * node with `--experimental-wasm-relaxed-simd`, or call enableRelaxedSimd() from 'simdnet/node'
 * before creating the first relaxed backend. (The library never sets engine flags on its own.)
 */
export function wasmRelaxedSimdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

// Each build is compiled once per process: later backends only instantiate, which is cheap.
type BuildName = 'plain' | 'relaxed' | 'shared' | 'relaxedShared';
const embeddedModules: Partial<Record<BuildName, Promise<WebAssembly.Module>>> = {};

/** The embedded text of a build: every build but the default sits in its own module, fetched by bundles only when used. */
function embeddedText(key: BuildName): Promise<string> {
  switch (key) {
    case 'plain': return Promise.resolve(wasmDeflated);
    case 'relaxed': return import('../wasm/simdnet-relaxed.generated.js').then((m) => m.wasmRelaxedDeflated);
    case 'shared': return import('../wasm/simdnet-shared.generated.js').then((m) => m.wasmSharedDeflated);
    default: return import('../wasm/simdnet-relaxed-shared.generated.js').then((m) => m.wasmRelaxedSharedDeflated);
  }
}

/**
 * The bytes of an embedded build: base64, then zlib-inflated by the engine's DecompressionStream
 * (Node 18+, every current browser), or where there is none by the JavaScript inflate of
 * ./inflate.ts, which bundles then fetch only there.
 */
export async function embeddedBytes(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const deflated = decodeBase64(text);
  if (typeof DecompressionStream !== 'function') return (await import('./inflate.js')).inflateZlib(deflated);
  // The stream's own reader rather than new Response(stream): in Node, Response (and Blob) load
  // a good part of fetch on first use, some 15 ms.
  const stream = new DecompressionStream('deflate');
  const writer = stream.writable.getWriter();
  // A corrupt stream errors the reading side, which throws below; the writer's promises would only repeat it.
  writer.write(deflated).then(() => writer.close()).catch(() => undefined);
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    chunks.push(read.value);
    length += read.value.length;
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/**
 * One of the embedded builds, compiled: the default or relaxed-SIMD one, owning its memory, or
 * (shared) the same kernels over an imported shared memory, for a backend with threads.
 */
export function loadEmbeddedModule(relaxed: boolean, shared = false): Promise<WebAssembly.Module> {
  const key: BuildName = shared ? (relaxed ? 'relaxedShared' : 'shared') : relaxed ? 'relaxed' : 'plain';
  let module = embeddedModules[key];
  if (module === undefined) {
    module = embeddedText(key).then(embeddedBytes).then((bytes) => WebAssembly.compile(bytes));
    embeddedModules[key] = module;
    // Let a failed compile be retried rather than cached.
    module.catch(() => { embeddedModules[key] = undefined; });
  }
  return module;
}

/**
 * Instantiates a build of the kernels that owns its memory. The embedded builds import nothing; a
 * build with assertions kept (asc without --noAssert) imports AssemblyScript's env.abort, which
 * throws here an Error with the message, file, line and column, as @assemblyscript/loader's does.
 * The loader itself is not needed: the kernels take and return numbers only, so its string and
 * array helpers would go unused, and it would add about 2 kB (gzipped) to the browser bundle.
 */
export async function instantiateKernels(module: WebAssembly.Module): Promise<WebAssembly.Instance> {
  const exported: { memory?: WebAssembly.Memory } = {};
  const abort = (message: number, file: number, line: number, column: number): never => {
    const memory = exported.memory;
    throw new Error(`abort: ${readString(memory, message)} at ${readString(memory, file)}:${line}:${column}`);
  };
  const instance = await WebAssembly.instantiate(module, { env: { abort } });
  exported.memory = instance.exports.memory as WebAssembly.Memory | undefined;
  return instance;
}

/** An AssemblyScript string in `memory`: UTF-16 code units, their byte length in the 4 bytes before. */
function readString(memory: WebAssembly.Memory | undefined, ptr: number): string {
  if (memory === undefined || ptr < 4 || ptr > memory.buffer.byteLength) return '<unknown>';
  const view = new DataView(memory.buffer);
  const end = Math.min(ptr + view.getUint32(ptr - 4, true), memory.buffer.byteLength, ptr + 2048);
  let text = '';
  for (let p = ptr; p + 2 <= end; p += 2) text += String.fromCharCode(view.getUint16(p, true));
  return text;
}

export interface WasmBackendOptions {
  /** Another build of the kernels, compiled or as bytes (default: the embedded build). */
  module?: WebAssembly.Module;
  bytes?: BufferSource;
  /**
   * Use the embedded relaxed-SIMD build: GEMM with fused multiply-add, faster where the CPU has FMA,
   * with results that differ from the default build's in the last bits. Throws a SimdnetError when
   * the engine does not accept relaxed SIMD (see wasmRelaxedSimdSupported). Default false.
   */
  relaxed?: boolean;
  /** Why this one-thread backend stands in for one with threads (see createBackend's threads). */
  threadsReason?: string;
}

/**
 * Creates a wasm backend with its own linear memory. By default it uses the embedded module
 * (compiled once and shared); `module` or `bytes` supply another build of it, `relaxed` selects the
 * embedded relaxed-SIMD build. Needs WebAssembly SIMD (see wasmSimdSupported in ./index.ts).
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  const relaxed = options.relaxed ?? false;
  if (typeof relaxed !== 'boolean') {
    throw new SimdnetError('relaxed', `createWasmBackend: relaxed must be true or false, got ${String(relaxed)}`);
  }
  if (relaxed && (options.module !== undefined || options.bytes !== undefined)) {
    throw new SimdnetError(
      'relaxed',
      'createWasmBackend: relaxed selects the embedded relaxed-SIMD build, so it cannot be combined with module or bytes',
    );
  }
  if (relaxed && !wasmRelaxedSimdSupported()) {
    throw new SimdnetError(
      'relaxed',
      'createWasmBackend: relaxed: true needs WebAssembly relaxed SIMD, which this JavaScript engine does not accept. ' +
        'In Node 20 it sits behind a V8 flag: run node with --experimental-wasm-relaxed-simd, or call ' +
        "enableRelaxedSimd() from 'simdnet/node' before creating the backend; " +
        'or leave relaxed off for the default SIMD build',
    );
  }
  const module = options.module
    ?? (options.bytes !== undefined ? await WebAssembly.compile(options.bytes) : await loadEmbeddedModule(relaxed));
  const exports = (await instantiateKernels(module)).exports as unknown as KernelExports & { memory: WebAssembly.Memory };
  return new WasmBackend(exports, exports.memory, relaxed, options.threadsReason);
}

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly relaxed: boolean;
  readonly #threadsReason: string | undefined;
  readonly maxBytes = MAX_BYTES;

  protected readonly ex: KernelExports;
  private readonly memory: WebAssembly.Memory;
  private f32View: Float32Array;
  private i32View: Int32Array;
  private readonly heap: BumpAllocator;
  protected readonly gemmScratch: Ptr;
  protected readonly tmp: Ptr;

  /** `memory` is the module's own, or (a shared build) the shared memory it was instantiated over. */
  constructor(ex: KernelExports, memory: WebAssembly.Memory, relaxed: boolean, threadsReason?: string) {
    this.relaxed = relaxed;
    this.#threadsReason = threadsReason;
    this.ex = ex;
    this.memory = memory;
    this.f32View = new Float32Array(memory.buffer);
    this.i32View = new Int32Array(memory.buffer);
    const grown: GrowableMemory = {
      get byteLength() { return memory.buffer.byteLength; },
      growTo: (bytes) => {
        growMemory(memory, memory.buffer.byteLength, bytes);
        this.remakeViews();
      },
      zero: (from, to) => this.f32View.fill(0, from >>> 2, to >>> 2),
    };
    this.heap = new BumpAllocator(grown, ex.heapBase(), MAX_BYTES, 'wasm32 memory');
    this.gemmScratch = this.alloc(ex.gemmScratchFloats());
    this.tmp = this.alloc(ex.tmpFloats());
    this.heap.keepAllocated();
  }

  get threads(): number {
    return 1;
  }

  get threadsReason(): string | undefined {
    return this.#threadsReason;
  }

  dispose(): void {
    // One thread, nothing to stop: the memory goes with the last reference to the backend.
  }

  overlap(task: () => void): void {
    task();
  }

  settle(): void {
    // overlap ran its task at once.
  }

  // Only `alloc` grows the memory, and it makes new views when it does: growth detaches an own
  // memory's buffer (emptying its views), and leaves a shared memory's old views at the old size.
  get f32(): Float32Array {
    return this.f32View;
  }

  get i32(): Int32Array {
    return this.i32View;
  }

  private remakeViews(): void {
    const buffer = this.memory.buffer;
    this.f32View = new Float32Array(buffer);
    this.i32View = new Int32Array(buffer);
  }

  /** Reserves blocks that `release` never frees (the threads' scratch), below every mark. */
  protected allocPermanent(count: number): Ptr {
    const ptr = this.alloc(count);
    this.heap.keepAllocated();
    return ptr;
  }

  alloc(count: number, zero?: boolean): Ptr {
    return this.heap.alloc(count, zero);
  }

  mark(): number {
    return this.heap.mark();
  }

  release(mark: number): void {
    this.heap.release(mark);
  }

  // Strides passed to the kernels are those of whole, contiguous matrices; the kernels also accept
  // sub-blocks (row ranges, column panels), which the threaded backend passes.
  gemmNN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    this.ex.gemmNN(m, n, k, a, k, b, n, c, n, accumulate ? 1 : 0, this.gemmScratch);
  }

  gemmTN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    this.ex.gemmTN(m, n, k, a, m, b, n, c, n, accumulate ? 1 : 0, this.gemmScratch);
  }

  gemmNT(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    this.ex.gemmNT(m, n, k, a, k, b, k, c, n, accumulate ? 1 : 0, this.gemmScratch);
  }

  gemmNTBackward(
    act: ActivationCode, m: number, n: number, k: number, dz: Ptr, w: Ptr, aPrev: Ptr, out: Ptr, alpha: number,
  ): void {
    if (act === ACTIVATION.softmax || derivativeFromZ(act)) {
      // Softmax's Jacobian mixes a whole row, and softplus, swish and gelu take g' from z with
      // exponentials of their own: the product first, then the backward pass over it.
      this.ex.gemmNT(m, n, k, dz, k, w, k, out, n, 0, this.gemmScratch);
      this.ex.activationBackward(act, aPrev, out, out, m, n, alpha, this.tmp);
      return;
    }
    this.ex.gemmNTBackward(act, m, n, k, dz, k, w, k, out, n, aPrev, n, alpha, this.gemmScratch);
  }

  sparseGemmNN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    this.ex.sparseGemmNN(m, n, k, a, k, b, n, c, n, accumulate ? 1 : 0, this.gemmScratch);
  }

  sparseGemmTN(m: number, n: number, k: number, a: Ptr, b: Ptr, c: Ptr, accumulate: boolean): void {
    this.ex.sparseGemmTN(m, n, k, a, m, b, n, c, n, accumulate ? 1 : 0, this.gemmScratch);
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

  biasActivationKeep(act: ActivationCode, z: Ptr, bias: Ptr, a: Ptr, m: number, n: number, alpha: number): void {
    this.ex.biasActivationKeep(act, z, bias, a, m, n, alpha, this.tmp);
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

  lossMae(a: Ptr, y: Ptr, da: Ptr, m: number, n: number): number {
    return this.ex.lossMae(a, y, da, m, n);
  }

  lossHuber(a: Ptr, y: Ptr, da: Ptr, m: number, n: number, delta: number): number {
    return this.ex.lossHuber(a, y, da, m, n, delta);
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

  countNonzeroFinite(x: Ptr, n: number): number {
    return this.ex.countNonzeroFinite(x, n);
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

  sgdMomentum(w: Ptr, g: Ptr, acc: Ptr, n: number, lr: number, mu: number, nesterov: boolean, l2: number): void {
    this.ex.sgdMomentum(w, g, acc, n, lr, mu, nesterov ? 1 : 0, l2, this.tmp);
  }

  rmsprop(
    w: Ptr, g: Ptr, ms: Ptr, mom: Ptr, mg: Ptr, n: number, lr: number, rho: number, epsilon: number, mu: number, centered: boolean,
  ): void {
    this.ex.rmsprop(w, g, ms, mom, mg, n, lr, rho, epsilon, mu, centered ? 1 : 0, this.tmp);
  }

  adagrad(w: Ptr, g: Ptr, acc: Ptr, n: number, lr: number, epsilon: number): void {
    this.ex.adagrad(w, g, acc, n, lr, epsilon, this.tmp);
  }

  adamw(
    w: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number,
    lr: number, beta1: number, beta2: number, epsilon: number, weightDecay: number, t: number,
  ): void {
    this.ex.adamw(w, g, m, v, n, lr, beta1, beta2, epsilon, weightDecay, t, this.tmp);
  }

  sumSquares(x: Ptr, n: number, out: Ptr): void {
    this.ex.sumSquares(x, n, out);
  }

  scaleInPlace(x: Ptr, n: number, s: number): void {
    this.ex.scaleInPlace(x, n, s, this.tmp);
  }

  clampInPlace(x: Ptr, n: number, c: number): void {
    this.ex.clampInPlace(x, n, c, this.tmp);
  }

  regularizerGradient(w: Ptr, dw: Ptr, n: number, l1: number, l2: number): void {
    this.ex.regularizerGradient(w, dw, n, l1, l2, this.tmp);
  }

  regularizerPenalty(w: Ptr, n: number, l1: number, l2: number, out: Ptr): void {
    this.ex.regularizerPenalty(w, n, l1, l2, out);
  }

  dropout(x: Ptr, y: Ptr, n: number, first: number, rate: number, seed: number, step: number, layer: number): void {
    this.ex.dropout(x, y, n, first, rate, seed, step, layer, this.tmp);
  }

  // Batch normalization runs on the calling thread (column sums over all rows; small next to the GEMMs).
  batchNormTrain(
    x: Ptr, m: number, n: number, bias: Ptr, gamma: Ptr, beta: Ptr, epsilon: number,
    mean: Ptr, variance: Ptr, invStd: Ptr, xhat: Ptr, y: Ptr,
  ): void {
    this.ex.batchNormTrain(x, m, n, bias, gamma, beta, epsilon, mean, variance, invStd, xhat, y);
  }

  batchNormBackward(dy: Ptr, xhat: Ptr, m: number, n: number, gamma: Ptr, invStd: Ptr, dgamma: Ptr, dbeta: Ptr, dx: Ptr): void {
    this.ex.batchNormBackward(dy, xhat, m, n, gamma, invStd, dgamma, dbeta, dx);
  }

  batchNormInference(
    x: Ptr, m: number, n: number, bias: Ptr, gamma: Ptr, beta: Ptr, mean: Ptr, variance: Ptr, epsilon: number, scale: Ptr, y: Ptr,
  ): void {
    this.ex.batchNormInference(x, m, n, bias, gamma, beta, mean, variance, epsilon, scale, y);
  }

  movingAverage(moving: Ptr, batch: Ptr, n: number, momentum: number): void {
    this.ex.movingAverage(moving, batch, n, momentum);
  }
}

/** Grows `memory` (`have` bytes now) to at least `bytes`, by a quarter or more where the engine allows, so growth is rare. */
function growMemory(memory: WebAssembly.Memory, have: number, bytes: number): void {
  const havePages = have / PAGE_BYTES;
  const pages = Math.ceil(bytes / PAGE_BYTES) - havePages;
  const generous = Math.min(Math.max(pages, Math.ceil(havePages / 4)), MAX_BYTES / PAGE_BYTES - havePages);
  try {
    memory.grow(generous);
  } catch {
    try {
      memory.grow(pages);
    } catch (cause) {
      throw new RangeError(`alloc: could not grow wasm memory to ${bytes} bytes`, { cause });
    }
  }
}
