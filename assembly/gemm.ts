// GEMM: C[m×n] = op(A)·op(B) (or C += … when `accumulate`), for the three products backprop needs.
//
// Goto/BLIS structure: the k dimension is cut into KC-deep slabs; a KC×NC block of op(B) is packed
// into NR-wide column panels and an MC×KC block of op(A) into MR-tall row panels, both in the
// caller's scratch; a 2×16 f32x4 micro-kernel then walks the packed panels. Packing reads A and B in
// their stored orientation, so Aᵀ·B and A·Bᵀ cost the same as A·B and no transpose is materialised.
// Panels are zero-padded to whole tiles, so edges need no special path in the micro-kernel loop;
// only the write-back of a partial tile goes through scratch. Two shapes leave the tiles: one
// column of C is a matrix-vector product, and with few rows of C a row-major B is read in place
// instead of packed.
//
// Strides (lda, ldb, ldc) are in elements, so a caller can run one call per range of rows of C or
// per column panel of C, each with its own scratch.
//
// gemmNTBackward fuses the backward pass's dZ_prev = (dZ·Wᵀ) ⊙ g'(A_prev) into the A·Bᵀ product: the
// derivative is applied as each finished tile is written, so dA_prev never makes a trip to memory.
import { derivs, derivv, ELU, LEAKY_RELU, LINEAR, RELU, RELU6, SELU, SIGMOID, TANH } from './derivative';
import { hsum } from './horizontal';
import { madd } from './madd';

// The tile sizes and DIRECT_B_ROWS are mirrored in test/support/gemm-tiles.ts, which the GEMM tests
// derive their boundary sizes from; test/gemm.test.ts checks that the two agree.

// Register tile: 8 accumulators + 4 B vectors + 2 A broadcasts = 14 of V8's 15 xmm registers.
// Against 4×8 (same accumulators) it halves the A broadcasts per step: ~5% faster with mul+add,
// level with FMA.
const MR = 2;
const NR = 16;
// KC·NR·4 B = 16 KiB micro-panel of B stays in L1 while the MC×KC block of A (128 KiB) sits in L2;
// the KC×NC block of B (256 KiB) also fits in L2 beside it (NC = 512 measured no faster).
const KC = 256;
const MC = 128;
const NC = 256;

const PACK_A = 0;
const PACK_B = PACK_A + MC * KC * 4;
const TILE = PACK_B + KC * NC * 4;
// gemmNTBackward's alpha, stored here and loaded back as a vector by the epilogue.
const ALPHA = TILE + MR * NR * 4;
const SCRATCH_BYTES = ALPHA + 16;

/** Epilogue code for "store the product as it is" (activation codes are ≥ 0). */
const PLAIN = -1;

// Up to this many rows of C, a row-major B is read in place rather than packed: each packed panel
// would serve at most 7 row tiles, too few to repay a copy of B. Measured on a 784-deep product,
// reading in place is 9% faster at m = 10, even at m = 14, and packing 5–8% faster at m = 24–32.
const DIRECT_B_ROWS = 14;

/** Floats of scratch one GEMM call needs (packed A block, packed B block, one tile, alpha). */
export function gemmScratchFloats(): i32 {
  return SCRATCH_BYTES >> 2;
}

/** C[m×n] = A[m×k]·B[k×n] (+ C if accumulate). C must not alias A or B; scratch: gemmScratchFloats(). */
export function gemmNN(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  accumulate: i32, scratch: usize,
): void {
  gemm(false, false, m, n, k, a, lda, b, ldb, c, ldc, accumulate != 0, scratch, PLAIN, 0, 0);
}

/** C[m×n] = Aᵀ·B with A stored [k×m], B [k×n] (+ C if accumulate). Same rules as gemmNN. */
export function gemmTN(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  accumulate: i32, scratch: usize,
): void {
  gemm(true, false, m, n, k, a, lda, b, ldb, c, ldc, accumulate != 0, scratch, PLAIN, 0, 0);
}

/** C[m×n] = A·Bᵀ with A [m×k], B stored [n×k] (+ C if accumulate). Same rules as gemmNN. */
export function gemmNT(
  m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  accumulate: i32, scratch: usize,
): void {
  gemm(false, true, m, n, k, a, lda, b, ldb, c, ldc, accumulate != 0, scratch, PLAIN, 0, 0);
}

/**
 * C[m×n] = (A·Bᵀ) ⊙ g'(P) with A [m×k], B stored [n×k], P [m×n] (stride ldp) the forward output
 * a = g(z) that g' is written from (see derivv). act is an elementwise activation code: linear,
 * sigmoid, tanh, relu, leakyRelu (alpha its slope), elu, selu or relu6; softmax's Jacobian mixes a
 * row, and softplus, swish and gelu take g' from z with exponentials of their own, so their callers
 * run gemmNT and then activationBackward. C must not alias A, B or P. Scratch: gemmScratchFloats().
 */
export function gemmNTBackward(
  act: i32, m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  p: usize, ldp: i32, alpha: f32, scratch: usize,
): void {
  store<f32>(scratch + ALPHA, alpha);
  gemm(false, true, m, n, k, a, lda, b, ldb, c, ldc, false, scratch, act == LINEAR ? PLAIN : act, p, ldp);
}

/**
 * The blocked product behind every export. act is PLAIN or the activation whose derivative the
 * epilogue applies (to the finished sums only: k-slabs before the last store plain partial sums).
 */
function gemm(
  transA: bool, transB: bool, m: i32, n: i32, k: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  accumulate: bool, scratch: usize, act: i32, p: usize, ldp: i32,
): void {
  const packA = scratch + PACK_A;
  const packB = scratch + PACK_B;
  const tile = scratch + TILE;
  const ldcBytes = <usize>ldc << 2;
  const ldpBytes = <usize>ldp << 2;
  if (k <= 0) {
    // An empty sum: C = 0 (or unchanged when accumulating); 0 ⊙ g' is 0 as well.
    if (!accumulate) for (let i = 0; i < m; i++) memory.fill(c + <usize>i * ldcBytes, 0, <usize>n << 2);
    return;
  }
  // One column of C (a single-unit output layer and its gradient): a matrix-vector product, which
  // the 2×16 tiles would compute at a sixteenth of their width.
  if (n == 1 && act == PLAIN && (transA || transB || ldb == 1)) {
    if (transA) gemvT(m, k, a, lda, b, transB ? 1 : ldb, c, ldc, accumulate);
    else gemvN(m, k, a, lda, b, c, ldc, accumulate);
    return;
  }
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      // With few rows, whole 16-column panels of a row-major B are read in place (the plain
      // epilogue only); the columns before `inPlace` are not packed.
      const inPlace = !transB && m <= DIRECT_B_ROWS && act == PLAIN ? nc & ~(NR - 1) : 0;
      const bSlab = b + ((<usize>pc * ldb + jc) << 2);
      if (transB) packBT(b + ((<usize>jc * ldb + pc) << 2), ldb, kc, nc, packB);
      else if (inPlace < nc) packBN(bSlab + (<usize>inPlace << 2), ldb, kc, nc - inPlace, packB + <usize>inPlace * kc * 4);
      // Later k-slabs add onto what the first one wrote; only the last one applies the epilogue.
      const acc = accumulate || pc > 0;
      const epi = pc + kc < k ? PLAIN : act;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        if (transA) packAT(a + ((<usize>pc * lda + ic) << 2), lda, mc, kc, packA);
        else packAN(a + ((<usize>ic * lda + pc) << 2), lda, mc, kc, packA);
        const cBlock = c + ((<usize>ic * ldc + jc) << 2);
        const pBlock = p + ((<usize>ic * ldp + jc) << 2);
        for (let jr = 0; jr < nc; jr += NR) {
          const bPanel = packB + <usize>jr * kc * 4;
          const cols = min(NR, nc - jr);
          const cColumn = cBlock + (<usize>jr << 2);
          if (jr < inPlace) {
            gemm_2x16_b(kc, mc, packA, bSlab + (<usize>jr << 2), <usize>ldb << 2, cColumn, ldcBytes, acc, cols, tile);
          } else if (epi == PLAIN) {
            gemm_2x16(kc, mc, packA, bPanel, cColumn, ldcBytes, acc, cols, tile);
          } else {
            gemm_2x16_deriv(epi, kc, mc, packA, bPanel, cColumn, ldcBytes, acc, cols, tile, pBlock + (<usize>jr << 2), ldpBytes, scratch + ALPHA);
          }
        }
      }
    }
  }
}

/**
 * c[i] (+)= Σ_p A[i][p]·b[p] for i < m: A row-major (stride lda floats), b k contiguous floats, c
 * with stride ldc floats. Two partial sums per row, folded at the end.
 */
function gemvN(m: i32, k: i32, a: usize, lda: i32, b: usize, c: usize, ldc: i32, accumulate: bool): void {
  const kVec = <usize>(k & ~7) << 2;
  const kBytes = <usize>k << 2;
  for (let i = 0; i < m; i++) {
    const row = a + ((<usize>i * lda) << 2);
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
    let off: usize = 0;
    for (; off < kVec; off += 32) {
      s0 = madd(v128.load(row + off), v128.load(b + off), s0);
      s1 = madd(v128.load(row + off, 16), v128.load(b + off, 16), s1);
    }
    let sum = hsum(f32x4.add(s0, s1));
    for (; off < kBytes; off += 4) sum += load<f32>(row + off) * load<f32>(b + off);
    const dst = c + ((<usize>i * ldc) << 2);
    store<f32>(dst, accumulate ? load<f32>(dst) + sum : sum);
  }
}

/**
 * c[i] (+)= Σ_p A[p][i]·b[p] for i < m: A stored [k×m] (stride lda floats), b[p] at stride ldb
 * floats, c with stride ldc floats. 16 columns of A at a time, their sums held in registers.
 */
function gemvT(m: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool): void {
  const aRow = <usize>lda << 2;
  const bStep = <usize>ldb << 2;
  let i = 0;
  for (; i + 16 <= m; i += 16) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let ap = a + (<usize>i << 2);
    let bp = b;
    for (let p = 0; p < k; p++) {
      const bv = v128.load32_splat(bp);
      s0 = madd(v128.load(ap), bv, s0);
      s1 = madd(v128.load(ap, 16), bv, s1);
      s2 = madd(v128.load(ap, 32), bv, s2);
      s3 = madd(v128.load(ap, 48), bv, s3);
      ap += aRow;
      bp += bStep;
    }
    storeColumn(c, ldc, i, s0, accumulate);
    storeColumn(c, ldc, i + 4, s1, accumulate);
    storeColumn(c, ldc, i + 8, s2, accumulate);
    storeColumn(c, ldc, i + 12, s3, accumulate);
  }
  for (; i < m; i += 4) {
    // The last columns, four at a time; lanes past m are computed from zeros and not stored.
    const lanes = min(4, m - i);
    let s0 = f32x4.splat(0);
    let ap = a + (<usize>i << 2);
    let bp = b;
    for (let p = 0; p < k; p++) {
      let av = f32x4.splat(0);
      if (lanes == 4) av = v128.load(ap);
      else {
        av = f32x4.replace_lane(av, 0, load<f32>(ap));
        if (lanes > 1) av = f32x4.replace_lane(av, 1, load<f32>(ap, 4));
        if (lanes > 2) av = f32x4.replace_lane(av, 2, load<f32>(ap, 8));
      }
      s0 = madd(av, v128.load32_splat(bp), s0);
      ap += aRow;
      bp += bStep;
    }
    if (lanes == 4) storeColumn(c, ldc, i, s0, accumulate);
    else {
      storeLane(c, ldc, i, f32x4.extract_lane(s0, 0), accumulate);
      if (lanes > 1) storeLane(c, ldc, i + 1, f32x4.extract_lane(s0, 1), accumulate);
      if (lanes > 2) storeLane(c, ldc, i + 2, f32x4.extract_lane(s0, 2), accumulate);
    }
  }
}

/** c[i..i+3] (stride ldc floats) from the four lanes of v. */
@inline function storeColumn(c: usize, ldc: i32, i: i32, v: v128, accumulate: bool): void {
  storeLane(c, ldc, i, f32x4.extract_lane(v, 0), accumulate);
  storeLane(c, ldc, i + 1, f32x4.extract_lane(v, 1), accumulate);
  storeLane(c, ldc, i + 2, f32x4.extract_lane(v, 2), accumulate);
  storeLane(c, ldc, i + 3, f32x4.extract_lane(v, 3), accumulate);
}

@inline function storeLane(c: usize, ldc: i32, i: i32, v: f32, accumulate: bool): void {
  const dst = c + ((<usize>i * ldc) << 2);
  store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
}

/**
 * Micro-kernel, run down a column of tiles: the 2×16 tiles of C rows 0..mc−1 (cols wide, cols ≤ 16)
 * from the packed A panels (each kc steps of 2 floats: rows i, i+1 at one p) and one packed B
 * panel (kc steps of 16 floats: columns j..j+15 at one p; bStep bytes apart). c points at the
 * column's top-left element, ldc is in bytes. Partial tiles go through tile (32 floats of scratch).
 * One call per column of tiles rather than per tile keeps call overhead out of short products.
 */
function gemm_2x16(
  kc: i32, mc: i32, ap: usize, bp: usize, c: usize, ldc: usize, accumulate: bool, cols: i32, tile: usize,
): void {
  tileColumn(PLAIN, kc, mc, ap, bp, 64, c, ldc, accumulate, cols, tile, 0, 0, 0);
}

/** gemm_2x16 reading B in place: bp points at B[p0][j], ldb is B's row stride in bytes. */
function gemm_2x16_b(
  kc: i32, mc: i32, ap: usize, bp: usize, ldb: usize, c: usize, ldc: usize, accumulate: bool, cols: i32, tile: usize,
): void {
  tileColumn(PLAIN, kc, mc, ap, bp, ldb, c, ldc, accumulate, cols, tile, 0, 0, 0);
}

/**
 * gemm_2x16, then C ⊙= g'(P) for an elementwise act: p points at P's element under c, ldp is in
 * bytes, alpha at a float in scratch. A separate function keeps the epilogue's registers out of
 * gemm_2x16.
 */
function gemm_2x16_deriv(
  act: i32, kc: i32, mc: i32, ap: usize, bp: usize, c: usize, ldc: usize, accumulate: bool, cols: i32, tile: usize,
  p: usize, ldp: usize, alpha: usize,
): void {
  tileColumn(act, kc, mc, ap, bp, 64, c, ldc, accumulate, cols, tile, p, ldp, alpha);
}

@inline function tileColumn(
  act: i32, kc: i32, mc: i32, ap: usize, bp: usize, bStep: usize, c: usize, ldc: usize,
  accumulate: bool, cols: i32, tile: usize, p: usize, ldp: usize, alpha: usize,
): void {
  const panel = <usize>kc * MR * 4;
  for (let i = 0; i < mc; i += MR) {
    microKernel2x16(act, kc, ap, bp, bStep, c, ldc, accumulate, min(MR, mc - i), cols, tile, p, ldp, alpha);
    ap += panel;
    c += ldc * MR;
    p += ldp * MR;
  }
}

@inline function microKernel2x16(
  act: i32, kc: i32, ap: usize, bp: usize, bStep: usize, c: usize, ldc: usize,
  accumulate: bool, rows: i32, cols: i32, tile: usize, p: usize, ldp: usize, alpha: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  // ap restarts from i32 arithmetic (end − steps) rather than from the parameter: V8 then knows
  // its upper 32 bits are zero and addresses memory with it directly, without a zero-extending
  // move each step (+3–4% on every product, paired runs). The same for bp measured 4% slower.
  const steps = <usize>kc << 3;
  const end = ap + steps;
  ap = end - steps;
  while (ap < end) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const b2 = v128.load(bp, 32);
    const b3 = v128.load(bp, 48);
    const a0 = v128.load32_splat(ap);
    const a1 = v128.load32_splat(ap, 4);
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    c02 = madd(a0, b2, c02);
    c03 = madd(a0, b3, c03);
    c10 = madd(a1, b0, c10);
    c11 = madd(a1, b1, c11);
    c12 = madd(a1, b2, c12);
    c13 = madd(a1, b3, c13);
    ap += 8;
    bp += bStep;
  }
  if (rows == MR && cols == NR) {
    if (act == PLAIN) {
      storeRow(c, c00, c01, accumulate);
      storeRow(c + 32, c02, c03, accumulate);
      storeRow(c + ldc, c10, c11, accumulate);
      storeRow(c + ldc + 32, c12, c13, accumulate);
      return;
    }
    // One branch per tile picks a straight-line epilogue with the activation fixed.
    const av = v128.load32_splat(alpha);
    switch (act) {
      case SIGMOID: storeTileDeriv(SIGMOID, c, ldc, p, ldp, accumulate, av, c00, c01, c02, c03, c10, c11, c12, c13); return;
      case TANH: storeTileDeriv(TANH, c, ldc, p, ldp, accumulate, av, c00, c01, c02, c03, c10, c11, c12, c13); return;
      case RELU: storeTileDeriv(RELU, c, ldc, p, ldp, accumulate, av, c00, c01, c02, c03, c10, c11, c12, c13); return;
      case LEAKY_RELU: storeTileDeriv(LEAKY_RELU, c, ldc, p, ldp, accumulate, av, c00, c01, c02, c03, c10, c11, c12, c13); return;
      case ELU: storeTileDeriv(ELU, c, ldc, p, ldp, accumulate, av, c00, c01, c02, c03, c10, c11, c12, c13); return;
      case SELU: storeTileDeriv(SELU, c, ldc, p, ldp, accumulate, av, c00, c01, c02, c03, c10, c11, c12, c13); return;
      case RELU6: storeTileDeriv(RELU6, c, ldc, p, ldp, accumulate, av, c00, c01, c02, c03, c10, c11, c12, c13); return;
      default: storeTileDeriv(LINEAR, c, ldc, p, ldp, accumulate, av, c00, c01, c02, c03, c10, c11, c12, c13); return;
    }
  }
  v128.store(tile, c00); v128.store(tile, c01, 16);
  v128.store(tile, c02, 32); v128.store(tile, c03, 48);
  v128.store(tile, c10, 64); v128.store(tile, c11, 80);
  v128.store(tile, c12, 96); v128.store(tile, c13, 112);
  const sa = act == PLAIN ? <f32>0 : load<f32>(alpha);
  for (let r = 0; r < rows; r++) {
    const dst = c + <usize>r * ldc;
    const src = tile + (<usize>r << 6);
    const pr = p + <usize>r * ldp;
    let j = 0;
    if (act == PLAIN) {
      // Whole quads of the partial row as vectors; the last < 4 columns one by one.
      for (; j + 4 <= cols; j += 4) {
        const off = <usize>j << 2;
        let v = v128.load(src + off);
        if (accumulate) v = f32x4.add(v128.load(dst + off), v);
        v128.store(dst + off, v);
      }
    }
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      let v = load<f32>(src + off);
      if (accumulate) v = load<f32>(dst + off) + v;
      if (act != PLAIN) v = derivs(act, load<f32>(pr + off), v, sa);
      store<f32>(dst + off, v);
    }
  }
}

/** Finishes a full tile: (C + tile when accumulating) ⊙ g'(P), row by row. act is a constant. */
@inline function storeTileDeriv(
  act: i32, c: usize, ldc: usize, p: usize, ldp: usize, accumulate: bool, alpha: v128,
  c00: v128, c01: v128, c02: v128, c03: v128, c10: v128, c11: v128, c12: v128, c13: v128,
): void {
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  storeRowDeriv(act, c, p, c00, c01, accumulate, alpha, one, zero);
  storeRowDeriv(act, c + 32, p + 32, c02, c03, accumulate, alpha, one, zero);
  storeRowDeriv(act, c + ldc, p + ldp, c10, c11, accumulate, alpha, one, zero);
  storeRowDeriv(act, c + ldc + 32, p + ldp + 32, c12, c13, accumulate, alpha, one, zero);
}

@inline function storeRowDeriv(
  act: i32, dst: usize, p: usize, lo: v128, hi: v128, accumulate: bool, alpha: v128, one: v128, zero: v128,
): void {
  if (accumulate) {
    lo = f32x4.add(v128.load(dst), lo);
    hi = f32x4.add(v128.load(dst, 16), hi);
  }
  v128.store(dst, derivv(act, v128.load(p), lo, alpha, one, zero));
  v128.store(dst, derivv(act, v128.load(p, 16), hi, alpha, one, zero), 16);
}

@inline function storeRow(dst: usize, lo: v128, hi: v128, accumulate: bool): void {
  if (accumulate) {
    lo = f32x4.add(lo, v128.load(dst));
    hi = f32x4.add(hi, v128.load(dst, 16));
  }
  v128.store(dst, lo);
  v128.store(dst, hi, 16);
}

/** Stores the columns of the 4×4 block with rows r0..r3 at dst, dst+stride, dst+2·stride, dst+3·stride. */
@inline function transpose4Store(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

/** Packs op(A) = A (stored row-major, a at A[i0][p0]): mc×kc into MR-row panels, p-major. */
function packAN(a: usize, lda: i32, mc: i32, kc: i32, dst: usize): void {
  const rowBytes = <usize>lda << 2;
  for (let i = 0; i < mc; i += MR) {
    const src = a + <usize>i * rowBytes;
    const rows = min(MR, mc - i);
    let p = 0;
    if (rows == MR) {
      // Interleave four steps of the two rows: r0[p] r1[p] r0[p+1] r1[p+1] ...
      for (; p + 4 <= kc; p += 4) {
        const s = src + (<usize>p << 2);
        const r0 = v128.load(s), r1 = v128.load(s + rowBytes);
        const d = dst + (<usize>p << 3);
        v128.store(d, v128.shuffle<f32>(r0, r1, 0, 4, 1, 5));
        v128.store(d, v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), 16);
      }
    }
    for (; p < kc; p++) {
      const s = src + (<usize>p << 2);
      const d = dst + (<usize>p << 3);
      store<f32>(d, load<f32>(s));
      store<f32>(d, rows == MR ? load<f32>(s + rowBytes) : 0, 4);
    }
    dst += <usize>kc << 3;
  }
}

/** Packs op(A) = Aᵀ (A stored [k×m], a at A[p0][i0]): mc×kc into MR-row panels, p-major. */
function packAT(a: usize, lda: i32, mc: i32, kc: i32, dst: usize): void {
  const rowBytes = <usize>lda << 2;
  const panelBytes = <usize>kc << 3;
  let i = 0;
  // Two panels per pass: one 4-float load per step feeds both.
  for (; i + 2 * MR <= mc; i += 2 * MR) {
    const src = a + (<usize>i << 2);
    for (let p = 0; p < kc; p++) {
      const v = v128.load(src + <usize>p * rowBytes);
      const d = dst + (<usize>p << 3);
      v128.store64_lane(d, v, 0);
      v128.store64_lane(d + panelBytes, v, 1);
    }
    dst += panelBytes << 1;
  }
  for (; i < mc; i += MR) {
    const src = a + (<usize>i << 2);
    const rows = min(MR, mc - i);
    for (let p = 0; p < kc; p++) {
      const s = src + <usize>p * rowBytes;
      const d = dst + (<usize>p << 3);
      if (rows == MR) store<u64>(d, load<u64>(s));
      else {
        store<f32>(d, load<f32>(s));
        store<f32>(d, 0, 4);
      }
    }
    dst += <usize>kc << 3;
  }
}

/** Packs op(B) = B (stored row-major, b at B[p0][j0]): kc×nc into NR-column panels, p-major. */
function packBN(b: usize, ldb: i32, kc: i32, nc: i32, dst: usize): void {
  const rowBytes = <usize>ldb << 2;
  for (let j = 0; j < nc; j += NR) {
    const src = b + (<usize>j << 2);
    const cols = min(NR, nc - j);
    if (cols == NR) {
      for (let p = 0; p < kc; p++) {
        const s = src + <usize>p * rowBytes;
        const d = dst + (<usize>p << 6);
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        v128.store(d, v128.load(s, 32), 32);
        v128.store(d, v128.load(s, 48), 48);
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const s = src + <usize>p * rowBytes;
        const d = dst + (<usize>p << 6);
        let q = 0;
        for (; q + 4 <= cols; q += 4) v128.store(d + (<usize>q << 2), v128.load(s + (<usize>q << 2)));
        for (; q < NR; q++) store<f32>(d + (<usize>q << 2), q < cols ? load<f32>(s + (<usize>q << 2)) : 0);
      }
    }
    dst += <usize>kc << 6;
  }
}

/** Packs op(B) = Bᵀ (B stored [n×k], b at B[j0][p0]): kc×nc into NR-column panels, p-major. */
function packBT(b: usize, ldb: i32, kc: i32, nc: i32, dst: usize): void {
  const rowBytes = <usize>ldb << 2;
  for (let j = 0; j < nc; j += NR) {
    const src = b + <usize>j * rowBytes;
    const cols = min(NR, nc - j);
    let p = 0;
    if (cols == NR) {
      // Columns j..j+15 of op(B) are rows of B: transpose four 4×4 blocks per 4 steps of p.
      for (; p + 4 <= kc; p += 4) {
        const d = dst + (<usize>p << 6);
        for (let q = 0; q < NR; q += 4) {
          const s = src + <usize>q * rowBytes + (<usize>p << 2);
          transpose4Store(
            v128.load(s), v128.load(s + rowBytes), v128.load(s + 2 * rowBytes), v128.load(s + 3 * rowBytes),
            d + (<usize>q << 2), 64,
          );
        }
      }
    }
    for (; p < kc; p++) {
      const d = dst + (<usize>p << 6);
      for (let q = 0; q < NR; q++) {
        store<f32>(d + (<usize>q << 2), q < cols ? load<f32>(src + <usize>q * rowBytes + (<usize>p << 2)) : 0);
      }
    }
    dst += <usize>kc << 6;
  }
}
