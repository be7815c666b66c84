// Memory helpers. TypeScript owns the memory plan: these kernels never allocate, they only move
// floats between regions the caller reserved.

/** First free byte after the module's static data; the TypeScript bump allocator starts here. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Floats in the `tmp` slot that kernels with hyper-parameters take: they store their parameters
 * there and load them back as vectors (see optimizers.ts). One slot per concurrent caller.
 */
export function tmpFloats(): i32 {
  return 16;
}

/** dst[i] = src[i] for i < n floats. Regions must not overlap. */
export function copy(src: usize, dst: usize, n: i32): void {
  memory.copy(dst, src, <usize>n << 2);
}

/** x[i] = value for i < n. */
export function fill(x: usize, n: i32, value: f32): void {
  const v = f32x4.splat(value);
  const end = x + (<usize>n << 2);
  const vecEnd = x + (<usize>(n & ~3) << 2);
  while (x < vecEnd) {
    v128.store(x, v);
    x += 16;
  }
  while (x < end) {
    store<f32>(x, value);
    x += 4;
  }
}

/**
 * dst row r = src row index[r] for r < count; rows are rowLen floats, index is i32 (caller checks
 * the range). dst must not overlap src. A row of COPY_FLOATS or more goes through memory.copy,
 * which the engine runs as its own block copy: a shuffled batch's rows come from all over a data
 * set that training has pushed out of the cache, and that copy keeps more of a row's cache lines in
 * flight than a loop of vector moves (64 rows of 784 floats from memory, on an Intel Xeon:
 * 41 → 27 µs). Shorter rows (labels, narrow tables) are copied inline, where the call would cost
 * more than the few vector moves.
 */
const COPY_FLOATS = 64;

export function gatherRows(src: usize, index: usize, count: i32, rowLen: i32, dst: usize): void {
  const rowBytes = <usize>rowLen << 2;
  const vecBytes = <usize>(rowLen & ~3) << 2;
  if (rowLen >= COPY_FLOATS) {
    for (let r = 0; r < count; r++) {
      memory.copy(dst, src + <usize>load<i32>(index + (<usize>r << 2)) * rowBytes, rowBytes);
      dst += rowBytes;
    }
    return;
  }
  for (let r = 0; r < count; r++) {
    const s = src + <usize>load<i32>(index + (<usize>r << 2)) * rowBytes;
    let off: usize = 0;
    for (; off < vecBytes; off += 16) v128.store(dst + off, v128.load(s + off));
    for (; off < rowBytes; off += 4) store<f32>(dst + off, load<f32>(s + off));
    dst += rowBytes;
  }
}
