/**
 * What batch normalization costs, measured interleaved: the 784-128-64-10 ReLU network with Adam at
 * batch 64 on MNIST digits, plain and with a batch normalization between each hidden layer's
 * product and its ReLU (the rows of mnistCases in bench/training.ts), one epoch each, alternating
 * round by round, timed by this process's CPU time (which leaves out what a shared machine gives
 * to other processes) and by the clock; and predict of the same digits both ways (inference from
 * the moving statistics, one more pass over each hidden layer's outputs).
 *
 *   npx tsx bench/batchnorm.ts [--rounds 15] [--digits 4000] [--backend wasm|js]
 *
 * bench/run.ts prints the same lines for the wasm backend on one thread.
 */
import { activation, batchNormalization, dense, sequential, type BackendName, type LayerConfig, type Sequential } from '../src/index.js';
import { loadDigits, type Digits } from './training.js';

const PIXELS = 784;

function layers(norm: boolean): LayerConfig[] {
  const hidden = (units: number, first: boolean): LayerConfig[] => {
    const input = first ? { inputShape: [PIXELS] as [number] } : {};
    return norm
      ? [dense({ units, ...input }), batchNormalization(), activation({ activation: 'relu' })]
      : [dense({ units, activation: 'relu', ...input })];
  };
  return [...hidden(128, true), ...hidden(64, false), dense({ units: 10, activation: 'softmax' })];
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface Timed { cpu: number; wall: number }

async function timed(run: () => unknown): Promise<Timed> {
  const [c0, w0] = [cpuSeconds(), performance.now()];
  await run();
  return { cpu: cpuSeconds() - c0, wall: (performance.now() - w0) / 1000 };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Lines of figures: µs per training step (CPU and clock, medians), the median of the per-round
 * ratios, and the same for predict. Each model trains one epoch before timing.
 */
export async function batchNormCost(digits: Digits, rounds: number, backend: BackendName = 'wasm'): Promise<string[]> {
  const x = { data: digits.x, shape: [digits.rows, PIXELS] as [number, number] };
  const y = { data: digits.y, shape: [digits.rows, 10] as [number, number] };
  const models: Sequential[] = [];
  for (const norm of [false, true]) {
    const model = await sequential({ layers: layers(norm), backend, threads: 1, seed: 1 });
    model.compile({ loss: 'categoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.001 } });
    await model.fit(x, y, { epochs: 1, batchSize: 64, seed: 7 });
    model.predict(x);
    models.push(model);
  }
  const steps = Math.ceil(digits.rows / 64);
  const fit: Timed[][] = [[], []];
  const predict: Timed[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      fit[k].push(await timed(() => models[k].fit(x, y, { epochs: 1, batchSize: 64, seed: 7 + r })));
      predict[k].push(await timed(() => models[k].predict(x)));
    }
  }
  for (const m of models) m.dispose();
  const line = (what: string, times: Timed[][], per: number, unit: string): string => {
    const figure = (k: number, key: keyof Timed): string => (median(times[k].map((t) => t[key])) * 1e6 / per).toFixed(0);
    const ratio = (key: keyof Timed): string => median(times[0].map((t, i) => times[1][i][key] / t[key])).toFixed(3);
    return `batch norm vs plain, ${what}, ${backend} 1 thread, interleaved (${rounds} rounds): CPU ${figure(1, 'cpu')} vs ${figure(0, 'cpu')} ${unit} ` +
      `(×${ratio('cpu')}), clock ${figure(1, 'wall')} vs ${figure(0, 'wall')} ${unit} (×${ratio('wall')})`;
  };
  return [
    line(`MNIST 784-128-64-10 Adam training step at batch 64 (${digits.rows} digits an epoch)`, fit, steps, 'µs/step'),
    line(`predict of ${digits.rows} digits (batch 256)`, predict, digits.rows / 1000, 'µs per 1,000 rows'),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const lines = await batchNormCost(loadDigits(Number(arg('digits', '4000'))), Number(arg('rounds', '15')), arg('backend', 'wasm') as BackendName);
  for (const l of lines) console.log(l);
}
