/** Tolerance checks that report the worst offending element. */
import { expect } from 'vitest';

/** Float32 unit roundoff, 2^-24. */
export const U32 = 2 ** -24;

/**
 * Asserts |got[i] − want[i]| ≤ tol(i) for all i, where tol is a number, an array, or
 * rtol·|want[i]| + atol.
 */
export function expectClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: { rtol?: number; atol?: number } | ArrayLike<number>,
  what: string,
): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let worst = -1;
  let worstRatio = 0;
  let bad = 0;
  for (let i = 0; i < want.length; i++) {
    const allowed = 'length' in tol ? tol[i] : (tol.rtol ?? 0) * Math.abs(want[i]) + (tol.atol ?? 0);
    const err = Math.abs(got[i] - want[i]);
    // NaN in got fails: !(NaN <= x).
    if (!(err <= allowed) && !(got[i] === want[i])) {
      bad++;
      const ratio = Number.isFinite(err) ? err / (allowed || Number.MIN_VALUE) : Infinity;
      if (worst < 0 || ratio > worstRatio) { worst = i; worstRatio = ratio; }
    }
  }
  if (bad > 0) {
    const allowed = 'length' in tol ? tol[worst] : (tol.rtol ?? 0) * Math.abs(want[worst]) + (tol.atol ?? 0);
    expect.fail(
      `${what}: ${bad} of ${want.length} elements out of tolerance; worst at [${worst}]: ` +
        `got ${got[worst]}, want ${want[worst]}, |diff| ${Math.abs(got[worst] - want[worst])} > ${allowed}`,
    );
  }
}

/** Asserts a scalar is within rtol·|want| + atol. */
export function expectNear(got: number, want: number, rtol: number, atol: number, what: string): void {
  const err = Math.abs(got - want);
  if (!(err <= rtol * Math.abs(want) + atol) && got !== want) {
    expect.fail(`${what}: got ${got}, want ${want}, |diff| ${err} > ${rtol * Math.abs(want) + atol}`);
  }
}
