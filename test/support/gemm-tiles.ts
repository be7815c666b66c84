/**
 * The blocking constants of the wasm GEMM (assembly/gemm.ts), for tests that put matrix sizes on
 * its boundaries. A mirror, not an import: test/gemm.test.ts reads assembly/gemm.ts and fails when
 * a value here disagrees with it.
 */
export const GEMM_TILES = {
  /** Rows of C in one register tile of the micro-kernel. */
  MR: 2,
  /** Columns of C in one register tile (the width of a packed panel of op(B)). */
  NR: 16,
  /** Depth of one k-slab: k is cut into slabs of at most KC. */
  KC: 256,
  /** Rows of op(A) in one packed block: m is cut at multiples of MC. */
  MC: 128,
  /** Columns of op(B) in one packed block: n is cut at multiples of NC. */
  NC: 256,
  /** Up to this many rows of C, a row-major B (gemmNN, gemmTN) is read in place instead of packed. */
  DIRECT_B_ROWS: 14,
} as const;

export type GemmTileName = keyof typeof GEMM_TILES;
