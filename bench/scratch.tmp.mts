import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { dense, sequential } from '../src/index.js';
import { mulberry32, uniform } from '../test/prng.js';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
for (const backend of ['js', 'wasm'] as const) {
const rng = mulberry32(11);
const rows = 16000, F = 20;
const x = { data: uniform(rng, rows * F), shape: [rows, F] as [number, number] };
const y = Array.from({ length: rows }, () => Math.floor(rng() * 3));
const model = await sequential({ layers: [dense({ units: 32, activation: 'relu', inputShape: [F] }), dense({ units: 16, activation: 'tanh' }), dense({ units: 3, activation: 'softmax' })], backend, seed: 3 });
model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam', metrics: ['accuracy'] });
await model.fit(x, y, { epochs: 1, batchSize: 8, seed: 1 });
for (let rep = 0; rep < 3; rep++) {
let h0 = 0, h1 = 0, h2 = 0;
await model.fit(x, y, { epochs: 1, batchSize: 8, seed: 2, callbacks: { onBatchEnd(b) {
  if (b === 500) { if (process.env.GC) gc(); h0 = process.memoryUsage().heapUsed; }
  if (b === 501) { h2 = process.memoryUsage().heapUsed; }
  if (b === 1500) { h1 = process.memoryUsage().heapUsed; }
} } });
console.log(backend, 'growth', h1 - h0, 'one step', h2 - h0);
}
}
