import { loadDigits } from './training.js';
import { sequential, dense } from '../src/index.js';
const d = loadDigits(2000);
const m = await sequential({ layers: [dense({ units: 128, activation: 'relu', inputShape: [784] }), dense({ units: 64, activation: 'relu' }), dense({ units: 10, activation: 'softmax' })], backend: 'wasm', seed: 1 });
m.compile({ loss: 'categoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.001 } });
const xm = { data: d.x, shape: [2000, 784] as [number, number] }, ym = { data: d.y, shape: [2000, 10] as [number, number] };
for (const bs of [64, 256]) for (let i = 0; i < 8; i++) {
  const t0 = performance.now(); const h = await m.fit(xm, ym, { epochs: 1, batchSize: bs, seed: 7 }); const t = performance.now() - t0;
  console.log(bs, t.toFixed(1), 'ms', (2000 / t * 1000).toFixed(0), 'samples/s', h.history.loss[0]);
}
