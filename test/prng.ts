/** mulberry32: a tiny seeded PRNG, so every random test input is reproducible. Returns [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n floats uniform in [lo, hi), already rounded to float32 so kernel and reference see the same inputs. */
export function uniform(rng: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng();
  return out;
}

/** m one-hot rows of width n (n = 1: 0/1 labels). */
export function oneHot(rng: () => number, m: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    if (n === 1) out[i] = rng() < 0.5 ? 0 : 1;
    else out[i * n + Math.floor(rng() * n)] = 1;
  }
  return out;
}
