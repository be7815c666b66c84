// The pre-bundled build on a page's main thread: a model asked for two threads trains and
// predicts with the same bits as one on one thread, or says why it runs on one
// (test/browser-threads.test.ts serves this page with and without COOP/COEP).
import { sequential } from '../../dist/browser/simdnet.js';

const ROWS = 256;
const x = new Float32Array(ROWS * 64).map((_, i) => Math.sin(i * 0.37));
const y = Array.from({ length: ROWS }, (_, i) => i % 4);

async function run(threads) {
  const model = await sequential({
    threads,
    seed: 2,
    layers: [
      { units: 256, activation: 'relu', inputShape: [64] },
      { units: 128, activation: 'tanh' },
      { units: 4, activation: 'softmax' },
    ],
  });
  model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam' });
  const history = await model.fit({ data: x, shape: [ROWS, 64] }, y, { epochs: 3, batchSize: 128, seed: 4 });
  const weights = model.getWeights().map((w) => Array.from(new Uint32Array(w.buffer)));
  const predictions = Array.from(new Uint32Array(model.predict({ data: x, shape: [ROWS, 64] }).data.buffer));
  const result = { threads: model.threads, reason: model.threadsReason ?? null, loss: history.history.loss, weights, predictions };
  model.dispose();
  return result;
}

try {
  const one = await run(1);
  const two = await run(2);
  window.threadResults = {
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    threads: two.threads,
    reason: two.reason,
    losses: [one.loss, two.loss],
    sameBits: JSON.stringify([one.loss, one.weights, one.predictions]) === JSON.stringify([two.loss, two.weights, two.predictions]),
  };
} catch (err) {
  window.threadResults = { error: String(err && err.stack || err) };
}
document.querySelector('#out').textContent = JSON.stringify(window.threadResults, null, 1);
