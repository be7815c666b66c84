/**
 * Runs in a browser page: every kernel on both backends against the float64 reference, then one
 * short training run per backend. Results go to `window.simdnetResults` for the test to read.
 */
import { createBackend, dense, moons, sequential } from '../../src/index.js';
import { checkKernels, type CheckResult } from './kernel-checks.js';

export interface TrainingResult {
  backend: string;
  initialWeights: number[];
  losses: number[];
  acc: number;
}

export interface PageResults {
  crossOriginIsolated: boolean;
  backends: string[];
  checks: CheckResult[];
  training: TrainingResult[];
  error?: string;
}

declare global {
  interface Window {
    simdnetResults?: PageResults;
  }
}

async function train(backend: 'wasm' | 'js'): Promise<TrainingResult> {
  const { x, y } = moons(256, 7);
  const model = await sequential({
    layers: [
      dense({ units: 16, activation: 'tanh', inputShape: [2] }),
      dense({ units: 16, activation: 'tanh' }),
      dense({ units: 1, activation: 'sigmoid' }),
    ],
    backend,
    seed: 3,
  });
  try {
    model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.02 }, metrics: ['accuracy'] });
    const initialWeights = model.getWeights().flatMap((w) => Array.from(w));
    const history = await model.fit(x, y, { epochs: 60, batchSize: 32, shuffle: true, seed: 5 });
    return { backend, initialWeights, losses: history.history.loss, acc: model.evaluate(x, y).acc ?? 0 };
  } finally {
    model.dispose();
  }
}

async function run(): Promise<PageResults> {
  const results: PageResults = { crossOriginIsolated, backends: [], checks: [], training: [] };
  try {
    for (const name of ['wasm', 'js'] as const) {
      const backend = await createBackend(name);
      results.backends.push(backend.name);
      results.checks.push(...checkKernels(backend));
      results.training.push(await train(name));
    }
  } catch (err) {
    results.error = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
  }
  return results;
}

void run().then((results) => {
  window.simdnetResults = results;
  const failed = results.checks.filter((c) => !c.ok);
  document.getElementById('out')!.textContent = results.error
    ? `error: ${results.error}`
    : `${results.checks.length - failed.length}/${results.checks.length} kernel checks passed\n` +
      failed.map((c) => `FAIL ${c.backend} ${c.name}: ${c.detail}`).join('\n');
});
