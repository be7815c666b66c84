/**
 * The TF.js side of the comparison: the same network (784-128-64-10, He-normal hidden layers,
 * Glorot output, Adam with the same learning rate and ε), on the same digits, batch size, epochs
 * and thread count, with TF.js's WebAssembly backend (XNNPACK, SIMD). This worker is started only
 * when the visitor asks, so TF.js and its .wasm files are never downloaded otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// The three builds, as URLs of files Vite copies beside the bundle (no CDN). TF.js picks one at
// start-up: SIMD and threads when the page is cross-origin isolated, SIMD alone otherwise.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { fetchDigits, type DigitSet } from './digits.js';
import { HIDDEN, type FromTfjsWorker, type ToTfjsWorker } from './mnist-protocol.js';

function post(msg: FromTfjsWorker): void {
  self.postMessage(msg);
}

/** Resolved against this worker's URL, so the files are found wherever the demo is served from. */
const absolute = (url: string) => new URL(url, import.meta.url).href;

async function startBackend(threads: number): Promise<{ threads: number; build: string }> {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': absolute(wasmPlain),
    'tfjs-backend-wasm-simd.wasm': absolute(wasmSimd),
    'tfjs-backend-wasm-threaded-simd.wasm': absolute(wasmThreadedSimd),
  });
  setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('TF.js could not start its WebAssembly backend.');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const build = simd && multithread ? 'SIMD + threads' : simd ? 'SIMD' : 'no SIMD';
  return { threads: getThreadsCount(), build };
}

function model(inputs: number, learningRate: number): tfl.Sequential {
  const m = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: HIDDEN[0], activation: 'relu', kernelInitializer: 'heNormal', inputShape: [inputs] }),
      tfl.layers.dense({ units: HIDDEN[1], activation: 'relu', kernelInitializer: 'heNormal' }),
      tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: 'glorotUniform' }),
    ],
  });
  m.compile({ optimizer: tf.train.adam(learningRate, 0.9, 0.999, 1e-7), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

function tensors(set: DigitSet, side: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => ({
    x: tf.tensor2d(set.x, [set.rows, side * side]),
    y: tf.cast(tf.oneHot(tf.tensor1d(set.y, 'int32'), 10), 'float32') as tf.Tensor2D,
  }));
}

async function train({ url, settings }: ToTfjsWorker): Promise<void> {
  post({ type: 'status', text: 'starting TF.js' });
  const backend = await startBackend(settings.threads);
  post({ type: 'status', text: 'loading the digits' });
  const digits = await fetchDigits(url);
  const train = tensors(digits.train, digits.side);
  const test = tensors(digits.test, digits.side);
  const m = model(digits.side * digits.side, settings.learningRate);
  post({ type: 'status', text: `training (TF.js, ${backend.build})` });
  let aside = 0;
  const t0 = performance.now();
  await m.fit(train.x, train.y, {
    epochs: settings.epochs,
    batchSize: settings.batchSize,
    shuffle: true,
    callbacks: {
      onEpochEnd: (epoch, logs) => {
        const c0 = performance.now();
        post({ type: 'epoch', epoch: epoch + 1, loss: Number(logs?.loss), acc: Number(logs?.acc) });
        aside += performance.now() - c0;
      },
    },
  });
  const seconds = (performance.now() - t0 - aside) / 1000;
  const [, acc] = m.evaluate(test.x, test.y, { batchSize: 500 }) as tf.Scalar[];
  post({
    type: 'done',
    samplesPerSec: (settings.epochs * digits.train.rows) / seconds,
    seconds,
    testAcc: (await acc.data())[0],
    threads: backend.threads,
    build: backend.build,
    version: tf.version_core,
  });
}

self.onmessage = (event: MessageEvent<ToTfjsWorker>) => {
  train(event.data).catch((err: unknown) => {
    post({ type: 'error', message: err instanceof Error ? err.message : String((err as { message?: string }).message ?? err) });
  });
};
