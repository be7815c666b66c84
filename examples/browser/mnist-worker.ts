/**
 * Trains the MNIST page's network with simdnet, off the main thread. One fit() call runs the whole
 * run; its batch callback reports progress about every REPORT_MS and then yields to the worker's
 * event loop, which is when Stop and the drawing pad's predictions get in. Predicting between two
 * batches is safe: predict() lays out its memory above fit's and releases it before it returns.
 */
import { dense, sequential, type Sequential } from 'simdnet';
import { fetchDigits, type Digits } from './digits.js';
import { HIDDEN, type FromMnistWorker, type MnistSettings, type ToMnistWorker } from './mnist-protocol.js';
import { threadsOf, threadsSupported, withThreads } from './threads.js';

const REPORT_MS = 100;

interface Run {
  model: Sequential;
  settings: MnistSettings;
  /** Batches trained, in epochs (3.5: half way through the fourth). */
  position: number;
  /** Threads the model got. */
  threads: number;
}

let digits: Digits | null = null;
let run: Run | null = null;
let busy = false;
let stopRequested = false;

/** Thrown from the batch callback to end fit() early; the model keeps the batches trained so far. */
class StopRequested extends Error {}

function post(msg: FromMnistWorker, transfer: Transferable[] = []): void {
  self.postMessage(msg, { transfer });
}

/** Lets the worker's queued messages run. A message to itself, not setTimeout, which waits 4 ms once nested. */
const channel = new MessageChannel();
const yieldToMessages = () => new Promise<void>((resolve) => {
  channel.port1.onmessage = () => resolve();
  channel.port2.postMessage(null);
});

async function newRun(settings: MnistSettings): Promise<Run> {
  run?.model.dispose();
  run = null;
  const { side } = digits!;
  const model = await sequential(await withThreads({
    layers: [
      dense({ units: HIDDEN[0], activation: 'relu', inputShape: [side * side] }),
      dense({ units: HIDDEN[1], activation: 'relu' }),
      dense({ units: 10, activation: 'softmax' }),
    ],
    seed: 1,
  }, settings.threads));
  model.compile({
    loss: 'categoricalCrossentropy',
    optimizer: { type: 'adam', learningRate: settings.learningRate },
    metrics: ['accuracy'],
  });
  const threads = await threadsOf(model);
  post({ type: 'started', threads });
  return (run = { model, settings, position: 0, threads: threads.threads });
}

function testAccuracy(model: Sequential): { loss: number; acc: number } {
  const { test, side } = digits!;
  const { loss, acc } = model.evaluate({ data: test.x, shape: [test.rows, side * side] }, test.y, { batchSize: 500 });
  return { loss, acc: acc ?? 0 };
}

/** Trains `epochs` more epochs; samples/s counts fit's own time, not the callbacks' or the yields'. */
async function train(current: Run, epochs: number): Promise<void> {
  const { model, settings } = current;
  const { train: set, side } = digits!;
  const batches = Math.ceil(set.rows / settings.batchSize);
  const start = current.position;
  const pending = { x: [] as number[], loss: [] as number[], acc: [] as number[] };
  let samples = 0, aside = 0, epochsDone = 0, lastReport = performance.now();
  const t0 = performance.now();
  const speed = () => samples / Math.max(1e-6, (performance.now() - t0 - aside) / 1000);
  const flush = () => {
    post({ type: 'progress', ...pending, samplesPerSec: speed() });
    pending.x = []; pending.loss = []; pending.acc = [];
  };
  let finished = true;
  try {
    await model.fit({ data: set.x, shape: [set.rows, side * side] }, set.y, {
      epochs,
      batchSize: settings.batchSize,
      callbacks: {
        onBatchEnd: async (batch, logs) => {
          const c0 = performance.now();
          samples += Math.min(settings.batchSize, set.rows - batch * settings.batchSize);
          current.position = batch + 1 === batches ? start + epochsDone + 1 : start + epochsDone + (batch + 1) / batches;
          pending.x.push(current.position);
          pending.loss.push(logs.loss);
          pending.acc.push(logs.acc ?? 0);
          if (c0 - lastReport >= REPORT_MS) {
            flush();
            await yieldToMessages();
            lastReport = performance.now();
            if (stopRequested) throw new StopRequested();
          }
          aside += performance.now() - c0;
        },
        onEpochEnd: () => {
          const c0 = performance.now();
          epochsDone++;
          flush();
          const { loss, acc } = testAccuracy(model);
          post({ type: 'epoch', epoch: current.position, testLoss: loss, testAcc: acc });
          aside += performance.now() - c0;
        },
      },
    });
  } catch (err) {
    if (!(err instanceof StopRequested)) throw err;
    finished = false;
    flush();
  }
  const seconds = (performance.now() - t0 - aside) / 1000;
  const { loss, acc } = testAccuracy(model);
  if (!finished) post({ type: 'epoch', epoch: current.position, testLoss: loss, testAcc: acc });
  post({
    type: 'done', epoch: current.position, finished, samplesPerSec: speed(), seconds, testAcc: acc, threads: current.threads,
  });
}

function predict(id: number, pixels: Float32Array): void {
  const probabilities = run ? run.model.predict({ data: pixels, shape: [1, pixels.length] }).data : new Float32Array(10);
  post({ type: 'prediction', id, probabilities }, [probabilities.buffer]);
}

function fail(err: unknown): void {
  post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}

/** Runs one load or training at a time; its failure becomes an error message for the page. */
function exclusive(task: () => Promise<void>): void {
  if (busy) return;
  busy = true;
  stopRequested = false;
  task().catch(fail).finally(() => (busy = false));
}

self.onmessage = (event: MessageEvent<ToMnistWorker>) => {
  const msg = event.data;
  if (msg.type === 'stop') {
    stopRequested = true;
  } else if (msg.type === 'predict') {
    try {
      predict(msg.id, msg.pixels);
    } catch (err) {
      fail(err);
    }
  } else if (msg.type === 'sample') {
    if (!digits) return;
    const { test, side } = digits;
    const index = Math.floor(Math.random() * test.rows);
    const pixels = test.x.slice(index * side * side, (index + 1) * side * side);
    post({ type: 'sample', index, label: test.y[index], pixels }, [pixels.buffer]);
  } else if (msg.type === 'load') {
    exclusive(async () => {
      digits = await fetchDigits(msg.url);
      const threadsOption = await threadsSupported();
      post({ type: 'ready', trainRows: digits.train.rows, testRows: digits.test.rows, downloadBytes: digits.downloadBytes, threadsOption });
    });
  } else if (msg.type === 'train') {
    exclusive(async () => {
      if (!digits) throw new Error('The digits are not loaded yet.');
      await train(await newRun(msg.settings), msg.settings.epochs);
    });
  } else {
    exclusive(async () => {
      if (!run) throw new Error('There is no model to train on yet: press Train.');
      await train(run, msg.epochs);
    });
  }
};
