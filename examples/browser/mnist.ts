/**
 * The MNIST page: trains in mnist-worker.ts, draws the curves, reads the drawing pad, and on request
 * runs the same training with TF.js in tfjs-worker.ts. Neither simdnet nor TF.js is imported here.
 */
import digitsUrl from 'virtual:mnist-digits';
import { TrainingChart } from './chart.js';
import type { FromMnistWorker, FromTfjsWorker, MnistSettings, ToMnistWorker, ToTfjsWorker } from './mnist-protocol.js';
import { DrawingPad, paintDigit } from './pad.js';
import { ThreadsControl } from './threads-control.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const show = (id: string, text: string) => ($(id).textContent = text);
const form = $<HTMLFormElement>('controls');
const buttons = {
  train: $<HTMLButtonElement>('train'),
  stop: $<HTMLButtonElement>('stop'),
  continue: $<HTMLButtonElement>('continue'),
  reset: $<HTMLButtonElement>('reset'),
  compare: $<HTMLButtonElement>('compare'),
  sample: $<HTMLButtonElement>('sample'),
};
const inputs = ['epochs', 'batchSize', 'learningRate'].map((id) => $<HTMLInputElement>(id));
const threads = new ThreadsControl($<HTMLSelectElement>('threads'), $('threadsUsed'), $('threads-note'), 'max');
const url = new URL(digitsUrl, location.href).href;
const count = (n: number) => Math.round(n).toLocaleString('en');
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** The chart's series: the loss and accuracy of each batch, the test accuracy after each epoch. */
const TEST_ACC = 2;
const chart = new TrainingChart($('chart'), [
  { label: 'loss', scale: 'loss', stroke: '#2f62c4' },
  { label: 'batch accuracy', scale: 'acc', stroke: '#e0a07a' },
  { label: 'test accuracy', scale: 'acc', stroke: '#b3261e', sparse: true },
]);

let worker: Worker;
let ready = false;
let training = false;
let hasModel = false;
let comparing = false;
let predictionId = 0;
/** The drawing waiting to be classified while one classification is under way. */
let waiting: Float32Array | null = null;
let inFlight = false;
/** The image last classified, read again as the network learns; and what it is, for a test digit. */
let shown: { pixels: Float32Array; note: string } | null = null;

function send(msg: ToMnistWorker, transfer: Transferable[] = []): void {
  worker.postMessage(msg, transfer);
}

/** Enables what makes sense now. */
function sync(): void {
  const idle = ready && !training && !comparing;
  buttons.train.disabled = !idle;
  buttons.stop.disabled = !training;
  buttons.continue.disabled = !idle || !hasModel;
  buttons.compare.disabled = !idle;
  buttons.sample.disabled = !ready;
  for (const input of inputs) input.disabled = training || comparing;
  $<HTMLSelectElement>('threads').disabled = training || comparing || !threads.available;
}

/** A message for the visitor about one input. */
class FieldError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** Reads and checks the form; throws a FieldError. */
function settings(): MnistSettings {
  const [epochs, batchSize, learningRate] = inputs.map((input) => Number(input.value));
  if (!Number.isInteger(epochs) || epochs < 1 || epochs > 1000) throw new FieldError('epochs', 'Epochs: give a whole number from 1 to 1000.');
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 8000) throw new FieldError('batchSize', 'Batch size: give a whole number from 1 to 8000.');
  if (!(learningRate > 0 && learningRate <= 1)) throw new FieldError('learningRate', 'Learning rate: give a number above 0 and at most 1, e.g. 0.002.');
  return { epochs, batchSize, learningRate, threads: threads.value };
}

/** Checks the form as it is edited, so an error goes away as soon as its input is fixed. */
function validate(): MnistSettings | null {
  let field = '';
  let result: MnistSettings | null = null;
  try {
    result = settings();
    show('error', '');
  } catch (err) {
    field = (err as FieldError).field;
    show('error', (err as Error).message);
  }
  for (const input of inputs) {
    if (input.id === field) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  return result;
}

function showProbabilities(probabilities: Float32Array | null): void {
  const items = $('probabilities').children;
  let best = -1;
  if (probabilities) probabilities.forEach((p, d) => (best = best < 0 || p > probabilities[best] ? d : best));
  for (let d = 0; d < 10; d++) {
    const p = probabilities?.[d] ?? 0;
    const item = items[d] as HTMLElement;
    item.querySelector<HTMLElement>('.fill')!.style.width = `${(100 * p).toFixed(1)}%`;
    item.querySelector('.value')!.textContent = probabilities ? `${(100 * p).toFixed(p >= 0.995 || p < 0.005 ? 0 : 1)}%` : '';
    item.classList.toggle('best', d === best);
  }
  const note = shown?.note ? ` ${shown.note}` : '';
  show('verdict', probabilities ? `It reads ${best} (${(100 * probabilities[best]).toFixed(0)}% sure).${note}` : hasModel ? 'Draw a digit.' : 'Train the network, then draw a digit.');
  $('verdict').dataset.digit = probabilities ? String(best) : '';
}

/** Classifies an image; while one is being classified only the newest waiting one is kept. */
function classify(pixels: Float32Array | null, note = ''): void {
  paintDigit($<HTMLCanvasElement>('preview'), pixels);
  shown = pixels ? { pixels: pixels.slice(), note } : null;
  if (!pixels || !hasModel) {
    waiting = null;
    showProbabilities(null);
    return;
  }
  if (inFlight) {
    waiting = pixels;
    return;
  }
  inFlight = true;
  send({ type: 'predict', id: ++predictionId, pixels }, [pixels.buffer]);
}

function onProgress(msg: Extract<FromMnistWorker, { type: 'progress' }>): void {
  if (msg.x.length > 0) {
    chart.append(msg.x, [msg.loss, msg.acc, []]);
    const at = msg.x.at(-1)!;
    show('epoch', Number.isInteger(at) ? String(at) : at.toFixed(2));
  }
  show('speed', count(msg.samplesPerSec));
}

function onDone(msg: Extract<FromMnistWorker, { type: 'done' }>): void {
  training = false;
  const epochs = Number.isInteger(msg.epoch) ? String(msg.epoch) : msg.epoch.toFixed(2);
  show('status', msg.finished ? `finished: ${epochs} epoch${msg.epoch === 1 ? '' : 's'}, test accuracy ${pct(msg.testAcc)}` : `stopped at epoch ${epochs}`);
  show('speed', count(msg.samplesPerSec));
  sync();
}

function onMessage(msg: FromMnistWorker): void {
  switch (msg.type) {
    case 'ready':
      ready = true;
      threads.report({ option: msg.threadsOption });
      show('data', `${count(msg.trainRows)} training and ${count(msg.testRows)} test digits (${(msg.downloadBytes / 1e6).toFixed(1)} MB download)`);
      show('status', 'ready');
      break;
    case 'started':
      threads.report(msg.threads);
      break;
    case 'progress':
      onProgress(msg);
      hasModel = true;
      return;
    case 'epoch':
      chart.setLast(TEST_ACC, msg.testAcc);
      show('testAccuracy', pct(msg.testAcc));
      // What is on the pad, read again by the network as it is now.
      if (shown) classify(shown.pixels, shown.note);
      return;
    case 'done':
      onDone(msg);
      return;
    case 'prediction':
      inFlight = false;
      if (msg.id === predictionId) showProbabilities(msg.probabilities);
      if (waiting) {
        const next = waiting;
        waiting = null;
        classify(next, shown?.note);
      }
      return;
    case 'sample':
      pad.clear();
      classify(msg.pixels, `(Test digit #${msg.index + 1}, a ${msg.label}.)`);
      if (!hasModel) show('verdict', `Test digit #${msg.index + 1}, a ${msg.label}. Train the network to read it.`);
      return;
    case 'error':
      training = false;
      show('status', 'error');
      show('error', msg.message);
      break;
  }
  sync();
}

function startWorker(): void {
  worker = new Worker(new URL('./mnist-worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<FromMnistWorker>) => onMessage(event.data);
  worker.onerror = (event) => onMessage({ type: 'error', message: event.message || 'the training worker failed to start' });
  send({ type: 'load', url });
}

/** A fresh worker (which cuts a run short), an empty chart; the digits come from the HTTP cache. */
function reset(): void {
  worker?.terminate();
  ready = training = hasModel = false;
  inFlight = false;
  waiting = null;
  chart.clear();
  for (const id of ['testAccuracy', 'speed']) show(id, '–');
  show('epoch', '0');
  show('status', 'loading…');
  validate();
  startWorker();
  showProbabilities(null);
  sync();
}

function drawRace(): void {
  const speeds = ['simdnet', 'tfjs'].map((name) => Number($(`row-${name}`).querySelector('.speed')!.textContent.replace(/,/g, '')) || 0);
  const top = Math.max(...speeds, 1);
  speeds.forEach((s, i) => ($(`bar-${i === 0 ? 'simdnet' : 'tfjs'}`).style.width = `${(100 * s) / top}%`));
}

function showRow(name: 'simdnet' | 'tfjs', cells: { speed: string; time: string; acc: string; threads: string }): void {
  const row = $(`row-${name}`);
  for (const [cell, text] of Object.entries(cells)) row.querySelector(`.${cell}`)!.textContent = text;
}

/**
 * Trains both libraries one after the other with the form's settings, each in a worker of its own
 * (the page's own model is left alone): back to back, so that both meet the same machine load.
 */
function compare(): void {
  const s = validate();
  if (!s) return;
  comparing = true;
  sync();
  const pending = { speed: '…', time: '…', acc: '…', threads: '…' };
  showRow('simdnet', pending);
  showRow('tfjs', pending);
  drawRace();
  const workers: Worker[] = [];
  const finish = (text: string) => {
    for (const w of workers) w.terminate();
    comparing = false;
    sync();
    show('compare-note', text);
  };
  // Each worker is created where it is named: Vite bundles `new Worker(new URL(…))` only as such.
  const start = <T>(w: Worker, onMessage: (msg: T) => void): Worker => {
    workers.push(w);
    w.onmessage = (event: MessageEvent<T>) => onMessage(event.data);
    w.onerror = (event) => finish(`The comparison failed: ${event.message || 'a worker did not start'}`);
    return w;
  };
  let simdnetSpeed = 0;
  const runTfjs = () => {
    const tfjs = start<FromTfjsWorker>(new Worker(new URL('./tfjs-worker.ts', import.meta.url), { type: 'module' }), (msg) => {
      if (msg.type === 'status') show('compare-note', `TF.js: ${msg.text}…`);
      else if (msg.type === 'epoch') show('compare-note', `TF.js: epoch ${msg.epoch} of ${s.epochs}, loss ${msg.loss.toFixed(4)}`);
      else if (msg.type === 'error') finish(`TF.js failed: ${msg.message}`);
      else {
        showRow('tfjs', { speed: count(msg.samplesPerSec), time: `${msg.seconds.toFixed(1)} s`, acc: pct(msg.testAcc), threads: String(msg.threads) });
        drawRace();
        const ratio = simdnetSpeed / msg.samplesPerSec;
        finish(`TF.js ${msg.version} (WebAssembly, ${msg.build}): simdnet trained ${ratio >= 1 ? `${ratio.toFixed(1)}× faster` : `${(1 / ratio).toFixed(1)}× slower`}.`);
      }
    });
    tfjs.postMessage({ type: 'train', url, settings: s } satisfies ToTfjsWorker);
  };
  const simdnet = start<FromMnistWorker>(new Worker(new URL('./mnist-worker.ts', import.meta.url), { type: 'module' }), (msg) => {
    if (msg.type === 'ready') {
      show('compare-note', 'simdnet: training…');
      simdnet.postMessage({ type: 'train', settings: s } satisfies ToMnistWorker);
    } else if (msg.type === 'epoch') {
      show('compare-note', `simdnet: epoch ${msg.epoch} of ${s.epochs}`);
    } else if (msg.type === 'error') {
      finish(`simdnet failed: ${msg.message}`);
    } else if (msg.type === 'done') {
      simdnetSpeed = msg.samplesPerSec;
      showRow('simdnet', { speed: count(msg.samplesPerSec), time: `${msg.seconds.toFixed(1)} s`, acc: pct(msg.testAcc), threads: String(msg.threads) });
      drawRace();
      simdnet.terminate();
      runTfjs();
    }
  });
  simdnet.postMessage({ type: 'load', url } satisfies ToMnistWorker);
}

for (let d = 0; d < 10; d++) {
  const item = document.createElement('li');
  item.innerHTML = `<span class="digit">${d}</span><span class="track"><span class="fill"></span></span><span class="value"></span>`;
  $('probabilities').append(item);
}

const pad = new DrawingPad($<HTMLCanvasElement>('pad'), (pixels) => classify(pixels));

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const s = validate();
  if (!s || !ready || training) return;
  chart.clear();
  training = true;
  hasModel = false;
  show('status', 'training');
  show('testAccuracy', '–');
  sync();
  send({ type: 'train', settings: s });
});
form.addEventListener('input', () => validate());
buttons.stop.addEventListener('click', () => send({ type: 'stop' }));
buttons.continue.addEventListener('click', () => {
  const s = validate();
  if (!s) return;
  training = true;
  show('status', 'training (continued)');
  sync();
  send({ type: 'continue', epochs: s.epochs });
});
buttons.reset.addEventListener('click', reset);
buttons.compare.addEventListener('click', compare);
buttons.sample.addEventListener('click', () => send({ type: 'sample' }));
$('clear').addEventListener('click', () => pad.clear());
$<HTMLInputElement>('logScale').addEventListener('change', (e) => (chart.logScale = (e.target as HTMLInputElement).checked));

reset();
