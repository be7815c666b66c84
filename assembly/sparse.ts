// Sparse-input products: the two GEMMs that read a layer's input X, computed from the nonzero
// elements of X only (docs/ARCHITECTURE.md, 'Sparse inputs').
//
//   sparseGemmNN   C[m×n] = A[m×k]·B[k×n]               Z = X·W      A = X, B = W
//   sparseGemmTN   C[m×n] = Aᵀ·B, A stored [k×m], B [k×n]   dW = Xᵀ·dZ   A = X, B = dZ
//
// Same bits as gemmNN and gemmTN (gemm.ts) whenever B is finite. Each element of C is summed as the
// dense kernel sums it: k cut into the same KC-deep slabs, each slab summed from +0 over p in order
// with the same madd, each slab's sum added onto C (or stored, for the first slab without
// `accumulate`) in slab order; only the terms whose element of A is exactly ±0 are left out. With
// mul+add such a term adds ±0 to a partial sum that is never −0 (it starts at +0, and x + y rounds to
// −0 only when both are −0), so leaving it out changes no bit. With FMA (the relaxed build) a partial
// sum can become −0 when a product underflows; a left-out zero term would have turned it into +0, so
// there a zero element of C may differ in sign, which nothing downstream can see (ARCHITECTURE.md).
// A single column of C goes through the dense kernel (its matrix-vector product sums in another
// order), as does k = 0.
//
// Layout: row-major, strides lda, ldb, ldc in elements (any 4-byte aligned pointers). Per row of
// op(A) — a row of X for NN, a column of X for TN (GROUP columns per pass) — and per k-slab, the
// nonzero elements are first listed in scratch as (address of B's row p, value) pairs; then each
// 32-column strip of C is summed in 8 f32x4 registers over the list (8 accumulators, the broadcast
// value and a B vector: 10 of V8's 15 xmm registers), with 16-, 4- and partial-quad strips at the
// right edge. Splitting: the rows of C are independent (NN: a range of rows of X and Z; TN: a range
// of rows of dW, i.e. of columns of X), and so are its column ranges (B and C offset by j0, n the
// range's width), so a worker pool can split either product by output, each worker with its own
// scratch (gemmScratchFloats() floats, as for gemm.ts).
import { gemmNN, gemmTN } from './gemm';
import { madd } from './madd';

// gemm.ts's k-slab depth; test/gemm.test.ts checks that the two files agree.
const KC = 256;

/** Bytes of one list entry: the address of B's row (u32), then the element of A (f32). */
const ENTRY = 8;
/**
 * The space of one list: the nonzero elements of a row or column of A within a k-slab, up to KC
 * entries, plus a cache line, so that lists side by side do not start 2 KiB apart: the ends of
 * sparseGemmTN's lists would then fall into the same few sets of a 4 KiB-way L1 cache and evict
 * one another (measured 3× slower at 256 rows).
 */
const LIST_BYTES = KC * ENTRY + 64;
/**
 * sparseGemmTN lists this many columns of A per pass over a slab's rows: 32 lists (66 KiB) and their
 * counts in the scratch of gemm.ts, which holds several hundred KiB.
 */
const GROUP = 32;

/**
 * C[m×n] = A[m×k]·B[k×n] (+ C if accumulate) from the nonzero elements of A: the bits of gemmNN.
 * C must not alias A or B; scratch: gemmScratchFloats() floats.
 */
export function sparseGemmNN(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  accumulate: i32, scratch: usize,
): void {
  if (k <= 0 || n == 1) {
    gemmNN(m, n, k, a, lda, b, ldb, c, ldc, accumulate, scratch);
    return;
  }
  const ldbBytes = <usize>ldb << 2;
  for (let i = 0; i < m; i++) {
    const row = a + ((<usize>i * lda) << 2);
    const cRow = c + ((<usize>i * ldc) << 2);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const count = listRow(row + (<usize>pc << 2), kc, b + <usize>pc * ldbBytes, ldbBytes, scratch);
      sumStrips(scratch, count, n, cRow, accumulate != 0 || pc > 0);
    }
  }
}

/**
 * C[m×n] = Aᵀ·B with A stored [k×m], B [k×n] (+ C if accumulate), from the nonzero elements of A:
 * the bits of gemmTN. C must not alias A or B; scratch: gemmScratchFloats() floats.
 */
export function sparseGemmTN(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  accumulate: i32, scratch: usize,
): void {
  if (k <= 0 || n == 1) {
    gemmTN(m, n, k, a, lda, b, ldb, c, ldc, accumulate, scratch);
    return;
  }
  const ldaBytes = <usize>lda << 2;
  const ldbBytes = <usize>ldb << 2;
  const ldcBytes = <usize>ldc << 2;
  const counts = scratch + GROUP * LIST_BYTES;
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    const acc = accumulate != 0 || pc > 0;
    const aSlab = a + <usize>pc * ldaBytes;
    const bSlab = b + <usize>pc * ldbBytes;
    for (let i = 0; i < m; i += GROUP) {
      const g = min(GROUP, m - i);
      listColumns(aSlab + (<usize>i << 2), ldaBytes, kc, g, bSlab, ldbBytes, scratch, counts);
      for (let f = 0; f < g; f++) {
        sumStrips(scratch + <usize>f * LIST_BYTES, load<i32>(counts + (<usize>f << 2)), n, c + <usize>(i + f) * ldcBytes, acc);
      }
    }
  }
}

/**
 * Lists the nonzero a[p], p < kc (contiguous), as (b + p·ldbBytes, a[p]) entries at list, in order
 * of p; returns their count. Quads of zeros (most of an image's border) cost one compare.
 */
@inline function listRow(a: usize, kc: i32, b: usize, ldbBytes: usize, list: usize): i32 {
  let count = 0;
  let p = 0;
  for (; p + 4 <= kc; p += 4) {
    const v = v128.load(a + (<usize>p << 2));
    const mask = i32x4.bitmask(f32x4.ne(v, f32x4.splat(0)));
    if (mask == 0) continue;
    // Every lane is written and the count advances past the nonzero ones: no branch per lane.
    const row = b + <usize>p * ldbBytes;
    let e = list + (<usize>count << 3);
    store<u32>(e, <u32>row);
    store<f32>(e, f32x4.extract_lane(v, 0), 4);
    count += mask & 1;
    e = list + (<usize>count << 3);
    store<u32>(e, <u32>(row + ldbBytes));
    store<f32>(e, f32x4.extract_lane(v, 1), 4);
    count += (mask >> 1) & 1;
    e = list + (<usize>count << 3);
    store<u32>(e, <u32>(row + 2 * ldbBytes));
    store<f32>(e, f32x4.extract_lane(v, 2), 4);
    count += (mask >> 2) & 1;
    e = list + (<usize>count << 3);
    store<u32>(e, <u32>(row + 3 * ldbBytes));
    store<f32>(e, f32x4.extract_lane(v, 3), 4);
    count += mask >> 3;
  }
  for (; p < kc; p++) {
    const x = load<f32>(a + (<usize>p << 2));
    if (x != 0) {
      const e = list + (<usize>count << 3);
      store<u32>(e, <u32>(b + <usize>p * ldbBytes));
      store<f32>(e, x, 4);
      count++;
    }
  }
  return count;
}

/**
 * Lists the nonzero elements of g ≤ GROUP adjacent columns of A over kc rows (a at the first, rows
 * ldaBytes apart): column f's entries (b + p·ldbBytes, A[p][f]), in order of p, go to the list at
 * lists + f·LIST_BYTES, their count to the i32 at counts + 4f. The rows are read one after the
 * other, g floats each: walking one column down the rows instead misses the cache on every row once
 * the slab is a few hundred rows deep.
 */
function listColumns(
  a: usize, ldaBytes: usize, kc: i32, g: i32, b: usize, ldbBytes: usize, lists: usize, counts: usize,
): void {
  memory.fill(counts, 0, <usize>g << 2);
  const quads = g & ~3;
  for (let p = 0; p < kc; p++) {
    const s = a + <usize>p * ldaBytes;
    const row = <u32>(b + <usize>p * ldbBytes);
    let q = 0;
    for (; q < quads; q += 4) {
      const v = v128.load(s + (<usize>q << 2));
      const mask = i32x4.bitmask(f32x4.ne(v, f32x4.splat(0)));
      if (mask == 0) continue;
      // Every lane is written and only the nonzero ones advance their count: no branch per lane.
      const list = lists + <usize>q * LIST_BYTES;
      const count = counts + (<usize>q << 2);
      append(list, count, row, f32x4.extract_lane(v, 0), mask & 1);
      append(list + LIST_BYTES, count + 4, row, f32x4.extract_lane(v, 1), (mask >> 1) & 1);
      append(list + 2 * LIST_BYTES, count + 8, row, f32x4.extract_lane(v, 2), (mask >> 2) & 1);
      append(list + 3 * LIST_BYTES, count + 12, row, f32x4.extract_lane(v, 3), mask >> 3);
    }
    // Only the columns that exist are read: the last ones of a row may end the memory.
    for (; q < g; q++) {
      const x = load<f32>(s + (<usize>q << 2));
      if (x != 0) append(lists + <usize>q * LIST_BYTES, counts + (<usize>q << 2), row, x, 1);
    }
  }
}

/** Writes the entry (row, value) at the end of a list, and advances its count by `keep` (0 or 1). */
@inline function append(list: usize, count: usize, row: u32, value: f32, keep: i32): void {
  const n = load<i32>(count);
  const e = list + (<usize>n << 3);
  store<u32>(e, row);
  store<f32>(e, value, 4);
  store<i32>(count, n + keep);
}

/**
 * One row of C (n floats at c) from a list of `count` entries: c[j] = Σ_e value_e·B_e[j] summed from
 * +0 in list order, then stored, or added onto c (sum + c, as gemm.ts's storeRow) when accumulate.
 */
function sumStrips(list: usize, count: i32, n: i32, c: usize, accumulate: bool): void {
  const end = list + (<usize>count << 3);
  let j = 0;
  for (; j + 32 <= n; j += 32) {
    const off = <usize>j << 2;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let s4 = f32x4.splat(0), s5 = f32x4.splat(0), s6 = f32x4.splat(0), s7 = f32x4.splat(0);
    for (let e = list; e < end; e += ENTRY) {
      const bp = <usize>load<u32>(e) + off;
      const av = v128.load32_splat(e, 4);
      s0 = madd(av, v128.load(bp), s0);
      s1 = madd(av, v128.load(bp, 16), s1);
      s2 = madd(av, v128.load(bp, 32), s2);
      s3 = madd(av, v128.load(bp, 48), s3);
      s4 = madd(av, v128.load(bp, 64), s4);
      s5 = madd(av, v128.load(bp, 80), s5);
      s6 = madd(av, v128.load(bp, 96), s6);
      s7 = madd(av, v128.load(bp, 112), s7);
    }
    const dst = c + off;
    storeSum(dst, s0, accumulate); storeSum(dst + 16, s1, accumulate);
    storeSum(dst + 32, s2, accumulate); storeSum(dst + 48, s3, accumulate);
    storeSum(dst + 64, s4, accumulate); storeSum(dst + 80, s5, accumulate);
    storeSum(dst + 96, s6, accumulate); storeSum(dst + 112, s7, accumulate);
  }
  for (; j + 16 <= n; j += 16) {
    const off = <usize>j << 2;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (let e = list; e < end; e += ENTRY) {
      const bp = <usize>load<u32>(e) + off;
      const av = v128.load32_splat(e, 4);
      s0 = madd(av, v128.load(bp), s0);
      s1 = madd(av, v128.load(bp, 16), s1);
      s2 = madd(av, v128.load(bp, 32), s2);
      s3 = madd(av, v128.load(bp, 48), s3);
    }
    const dst = c + off;
    storeSum(dst, s0, accumulate); storeSum(dst + 16, s1, accumulate);
    storeSum(dst + 32, s2, accumulate); storeSum(dst + 48, s3, accumulate);
  }
  for (; j + 4 <= n; j += 4) {
    const off = <usize>j << 2;
    let s0 = f32x4.splat(0);
    for (let e = list; e < end; e += ENTRY) {
      s0 = madd(v128.load32_splat(e, 4), v128.load(<usize>load<u32>(e) + off), s0);
    }
    storeSum(c + off, s0, accumulate);
  }
  if (j < n) sumTail(list, end, n - j, c + (<usize>j << 2), accumulate, <usize>j << 2);
}

/** The last 1–3 columns: B's lanes read one by one (the row may end the memory), the same madd per lane. */
function sumTail(list: usize, end: usize, lanes: i32, dst: usize, accumulate: bool, off: usize): void {
  let s0 = f32x4.splat(0);
  for (let e = list; e < end; e += ENTRY) {
    const bp = <usize>load<u32>(e) + off;
    let bv = f32x4.splat(0);
    bv = f32x4.replace_lane(bv, 0, load<f32>(bp));
    if (lanes > 1) bv = f32x4.replace_lane(bv, 1, load<f32>(bp, 4));
    if (lanes > 2) bv = f32x4.replace_lane(bv, 2, load<f32>(bp, 8));
    s0 = madd(v128.load32_splat(e, 4), bv, s0);
  }
  storeLane(dst, f32x4.extract_lane(s0, 0), accumulate);
  if (lanes > 1) storeLane(dst + 4, f32x4.extract_lane(s0, 1), accumulate);
  if (lanes > 2) storeLane(dst + 8, f32x4.extract_lane(s0, 2), accumulate);
}

@inline function storeSum(dst: usize, sum: v128, accumulate: bool): void {
  v128.store(dst, accumulate ? f32x4.add(sum, v128.load(dst)) : sum);
}

@inline function storeLane(dst: usize, sum: f32, accumulate: bool): void {
  store<f32>(dst, accumulate ? sum + load<f32>(dst) : sum);
}
