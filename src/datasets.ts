/**
 * Seeded two-class toy data sets in the plane, for examples, the CLI, the browser demo and tests.
 * Each returns `x` as a matrix [n × 2] ready for fit() and `y` as 0/1 labels, classes alternating
 * row by row, so any tail of the rows (validationSplit) holds both classes.
 */
import { invalid, isPositiveInteger } from './errors.js';
import { checkSeed, Random } from './random.js';

export interface Dataset {
  x: { data: Float32Array; shape: [number, number] };
  /** 0 or 1 per row. */
  y: Float32Array;
}

/** Two interleaved spirals, 1.25 turns each, with Gaussian noise of sd `noise` (radius ≤ 1). */
export function spiral(n: number, seed = 0, noise = 0.03): Dataset {
  return generate('spiral()', n, seed, noise, (rng, label) => {
    const t = Math.sqrt(rng.next()) * 0.95 + 0.05; // √ spreads points evenly along the arm
    const angle = 2.5 * Math.PI * t + label * Math.PI;
    return [t * Math.cos(angle), t * Math.sin(angle)];
  });
}

/** Two interleaving half circles (as scikit-learn's make_moons), noise of sd `noise`. */
export function moons(n: number, seed = 0, noise = 0.1): Dataset {
  return generate('moons()', n, seed, noise, (rng, label) => {
    const a = Math.PI * rng.next();
    return label === 0 ? [Math.cos(a), Math.sin(a)] : [1 - Math.cos(a), 0.5 - Math.sin(a)];
  });
}

/** A circle of radius 1 (class 0) around one of radius 0.5 (class 1), noise of sd `noise`. */
export function circles(n: number, seed = 0, noise = 0.05): Dataset {
  return generate('circles()', n, seed, noise, (rng, label) => {
    const a = 2 * Math.PI * rng.next();
    const r = label === 0 ? 1 : 0.5;
    return [r * Math.cos(a), r * Math.sin(a)];
  });
}

/** Points in the four quadrants of [−1, 1]², class 1 where the signs differ; kept 0.05 off the axes. */
export function xor(n: number, seed = 0, noise = 0): Dataset {
  return generate('xor()', n, seed, noise, (rng, label) => {
    const sx = rng.next() < 0.5 ? -1 : 1;
    const sy = label === 1 ? -sx : sx;
    return [sx * (0.05 + 0.95 * rng.next()), sy * (0.05 + 0.95 * rng.next())];
  });
}

function generate(
  where: string, n: number, seed: number, noise: number,
  point: (rng: Random, label: number) => [number, number],
): Dataset {
  if (!isPositiveInteger(n)) throw invalid(where, 'n', 'a positive integer (the number of points)', n);
  checkSeed(where, 'seed', seed);
  if (typeof noise !== 'number' || !(noise >= 0) || !Number.isFinite(noise)) throw invalid(where, 'noise', 'a finite number ≥ 0', noise);
  const rng = new Random(seed);
  const data = new Float32Array(2 * n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const [px, py] = point(rng, label);
    data[2 * i] = px + noise * rng.normal();
    data[2 * i + 1] = py + noise * rng.normal();
    y[i] = label;
  }
  return { x: { data, shape: [n, 2] }, y };
}
