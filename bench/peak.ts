/**
 * The machine's f32x4 peak, measured in the same run as GEMM so that GEMM can be reported as a
 * fraction of it. A hand-assembled wasm module (no toolchain needed at bench time) runs
 * independent accumulator chains held in registers:
 *
 * - mul+add: 6 chains p ← p·c and 6 chains s ← s + d. Latency 4 and up to 3 vector ops a cycle
 *   need about 12 in flight; 12 accumulators + c + d = 14 of V8's 15 xmm registers.
 * - relaxed_madd: 12 chains a ← a·c + d (one rounding, a real FMA where the engine allows it).
 *
 * c and d are loaded from memory before the loop: V8 rebuilds v128 constants and splats inside
 * loops (see PERFORMANCE.md). c = d = 1 keeps every value an exact normal float (no denormals);
 * the add chains stop growing at 2^24, which costs nothing.
 */
import { type CaseSpec, type Entry } from './harness.js';

const CHAINS = 12;
/** Loop body copies per iteration, so the counter and branch are noise. */
const UNROLL = 4;

// Opcodes used below.
const LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22, I32_CONST = 0x41, I32_SUB = 0x6b;
const LOOP = 0x03, BR_IF = 0x0d, END = 0x0b, VOID = 0x40, V128 = 0x7b, I32 = 0x7f, F32 = 0x7d;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00];
const F32X4_EXTRACT_LANE = [SIMD, 0x1f];
const F32X4_ADD = [SIMD, 0xe4, 0x01];
const F32X4_MUL = [SIMD, 0xe6, 0x01];
const F32X4_RELAXED_MADD = [SIMD, 0x85, 0x02]; // 0x105

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];

/** A module exporting `memory` and `run(iterations: i32) → f32` with the given v128 locals and loop body. */
function assemble(locals: number, prologue: number[], body: number[], epilogue: number[]): Uint8Array<ArrayBuffer> {
  const code = [
    ...vec([[locals, V128]]),
    ...prologue,
    LOOP, VOID,
    ...Array.from({ length: UNROLL }, () => body).flat(),
    LOCAL_GET, 0, I32_CONST, 1, I32_SUB, LOCAL_TEE, 0, BR_IF, 0,
    END,
    ...epilogue,
    END,
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32]]), ...vec([[F32]])]])), // type: (i32) → f32
    ...section(3, vec([[0]])), // one function of type 0
    ...section(5, vec([[0x00, 1]])), // one memory, 1 page
    ...section(7, vec([[...name('run'), 0x00, 0], [...name('memory'), 0x02, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

// Locals: 0 is the iteration count; 1..CHAINS the accumulators; then c and d.
const ACC = (i: number): number => 1 + i;
const C = 1 + CHAINS, D = 2 + CHAINS;
const load = (offset: number): number[] => [I32_CONST, 0, ...V128_LOAD, 4, ...uleb(offset)];

const prologue = [
  ...load(0), LOCAL_SET, C,
  ...load(16), LOCAL_SET, D,
  ...Array.from({ length: CHAINS }, (_, i) => [...load(32), LOCAL_SET, ACC(i)]).flat(),
];
// Σ of all chains, lane 0: keeps every chain live and gives check() a value to verify.
const epilogue = [
  LOCAL_GET, ACC(0),
  ...Array.from({ length: CHAINS - 1 }, (_, i) => [LOCAL_GET, ACC(i + 1), ...F32X4_ADD]).flat(),
  ...F32X4_EXTRACT_LANE, 0,
];

const mulAddBody = Array.from({ length: CHAINS }, (_, i) =>
  i < CHAINS / 2
    ? [LOCAL_GET, ACC(i), LOCAL_GET, C, ...F32X4_MUL, LOCAL_SET, ACC(i)]
    : [LOCAL_GET, ACC(i), LOCAL_GET, D, ...F32X4_ADD, LOCAL_SET, ACC(i)],
).flat();
const fmaBody = Array.from({ length: CHAINS }, (_, i) =>
  [LOCAL_GET, ACC(i), LOCAL_GET, C, LOCAL_GET, D, ...F32X4_RELAXED_MADD, LOCAL_SET, ACC(i)],
).flat();

export const MUL_ADD_MODULE = assemble(2 + CHAINS, prologue, mulAddBody, epilogue);
export const FMA_MODULE = assemble(2 + CHAINS, prologue, fmaBody, epilogue);

/** Flops per loop iteration: a mul or an add is 4 flops, a madd 8. */
const FLOPS = { mulAdd: UNROLL * CHAINS * 4, fma: UNROLL * CHAINS * 8 };

/** What run(n) must return: chains that multiply stay 1, chains that add reach min(1 + n·UNROLL, 2^24). */
function expected(kind: 'mulAdd' | 'fma', n: number): number {
  const grown = Math.min(1 + n * UNROLL, 2 ** 24);
  let sum = 0;
  for (let i = 0; i < CHAINS; i++) {
    const chain = kind === 'mulAdd' && i < CHAINS / 2 ? 1 : grown;
    sum = i === 0 ? chain : Math.fround(sum + chain);
  }
  return sum;
}

async function instantiate(bytes: Uint8Array<ArrayBuffer>): Promise<(n: number) => number> {
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(bytes));
  const { run, memory } = instance.exports as { run: (n: number) => number; memory: WebAssembly.Memory };
  new Float32Array(memory.buffer, 0, 12).fill(1); // c, d and the accumulators' start
  return run;
}

/**
 * The peak cases. `fma` is false when relaxed SIMD is unavailable; the case then says so.
 * Each run() lasts about 10 ms at the expected peak.
 */
export async function peakCases(fma: boolean): Promise<CaseSpec[]> {
  const specs: CaseSpec[] = [];
  const kinds: Array<['mulAdd' | 'fma', string, string, Uint8Array<ArrayBuffer>]> = [
    ['mulAdd', 'f32x4 mul+add peak', 'wasm', MUL_ADD_MODULE],
    ['fma', 'f32x4 relaxed_madd (FMA) peak', 'wasm-relaxed', FMA_MODULE],
  ];
  for (const [kind, caseName, impl, bytes] of kinds) {
    const iterations = Math.round(0.01 * 45e9 / FLOPS[kind]);
    const entries: Entry[] = [];
    if (kind === 'mulAdd' || fma) {
      const run = await instantiate(bytes);
      entries.push({
        impl,
        check() {
          const want = expected(kind, 1000);
          const got = run(1000);
          return got === want ? undefined : `run(1000) returned ${got}, want ${want}`;
        },
        run: () => run(iterations),
      });
    }
    const unavailable = entries.length === 0 ? { [impl]: 'not available: this engine does not validate relaxed SIMD' } : undefined;
    specs.push({ group: 'peak', name: caseName, unit: 'GFLOP/s', work: iterations * FLOPS[kind], entries, unavailable });
  }
  return specs;
}

/**
 * A quick reading of one peak, to pair with a single measurement on a shared machine: each call
 * returns the median of 9 runs of about 2 ms (GFLOP/s).
 */
export async function peakProbe(kind: 'mulAdd' | 'fma'): Promise<() => number> {
  const run = await instantiate(kind === 'mulAdd' ? MUL_ADD_MODULE : FMA_MODULE);
  const iterations = Math.round(0.002 * 45e9 / FLOPS[kind]);
  run(iterations); // compiled by the optimising tier before the first reading
  return () => {
    const samples: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      run(iterations);
      samples.push((iterations * FLOPS[kind]) / ((performance.now() - t0) * 1e6));
    }
    return samples.sort((a, b) => a - b)[4];
  };
}
