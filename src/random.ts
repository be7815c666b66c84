/**
 * Seeded randomness for weight initialisation and shuffling, in TypeScript so that one seed gives
 * bit-identical weights and the same batch order on every backend (docs/ARCHITECTURE.md, 'Conventions').
 *
 * Generator: xoshiro128** (Blackman & Vigna), 128 bits of state, period 2^128 − 1, all 32-bit
 * integer arithmetic via Math.imul, so it is exact and identical on every JavaScript engine.
 * The state is filled from the seed by splitmix32, which spreads nearby seeds (1, 2, 3) apart.
 */
import { invalid } from './errors.js';

const TWO_POW_32 = 4294967296;

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Box–Muller makes normals in pairs; the second waits here. */
  private spareNormal = NaN;

  /** `stream` gives independent sequences from one seed (e.g. 0 for weights, 1 for shuffling). */
  constructor(seed: number, stream = 0) {
    let x = (seed >>> 0) ^ Math.imul(stream + 1, 0x9e3779b9);
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x ^ hi;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the one forbidden state
  }

  /**
   * The generator's position: its four state words (uint32). A generator made with `fromState` of
   * them draws what this one draws next (normals start a new pair: the spare one is not kept).
   */
  state(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** The generator at a position `state()` returned (checked by the caller: four uint32, not all 0). */
  static fromState(words: readonly number[]): Random {
    const rng = new Random(0);
    [rng.s0, rng.s1, rng.s2, rng.s3] = words.map((w) => w | 0);
    return rng;
  }

  /** An independent copy, at the same position. */
  clone(): Random {
    const copy = Random.fromState(this.state());
    copy.spareNormal = this.spareNormal;
    return copy;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n), n ≤ 2^32; the modulo bias is below 2^-32·n, negligible here. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal by Box–Muller: z = √(−2 ln u₁)·cos(2πu₂), and the sine for the next call. */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const z = this.spareNormal;
      this.spareNormal = NaN;
      return z;
    }
    const u1 = 1 - this.next(); // (0, 1]: keeps log finite
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Fisher–Yates shuffle of `count` int32 values starting at `start` of `a`, in place. */
  shuffleInt32(a: Int32Array, start: number, count: number): void {
    for (let i = count - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[start + i];
      a[start + i] = a[start + j];
      a[start + j] = t;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Seeds are safe integers (any sign); other values are refused so a typo cannot silently seed 0. */
export function checkSeed(where: string, argument: string, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw invalid(where, argument, 'a safe integer', seed);
  }
  return seed;
}
