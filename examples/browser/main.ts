/**
 * The demo page: reads the form, hands the work to a worker, and draws what it reports.
 * The page never imports simdnet itself; only the worker does, so the main thread stays light.
 */
import { drawBoundary, drawChart, type Points } from './draw.js';
import type { DataRequest, DatasetName, FromWorker, ToWorker, TrainConfig } from './protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('controls');
const boundary = $<HTMLCanvasElement>('boundary');
const chart = $<HTMLCanvasElement>('chart');
const buttons = { train: $<HTMLButtonElement>('train'), stop: $<HTMLButtonElement>('stop') };
const value = (id: string) => $<HTMLInputElement>(id).value;
const show = (id: string, text: string) => ($(id).textContent = text);

let worker: Worker;
let data: Points | null = null;
const history = { epochs: [] as number[], loss: [] as number[], acc: [] as number[] };
const fastest: Record<'wasm' | 'js', number> = { wasm: 0, js: 0 };

function dataRequest(): DataRequest {
  return { dataset: value('dataset') as DatasetName, samples: Number(value('samples')), seed: Number(value('seed')) };
}

/** Reads and checks the form; throws a message meant for the user. */
function trainConfig(): TrainConfig {
  const hidden = value('hidden').split(/[\s,]+/).filter(Boolean).map(Number);
  if (hidden.some((u) => !Number.isInteger(u) || u < 1 || u > 1024)) {
    throw new Error('Hidden layers: give whole numbers of units between 1 and 1024, separated by commas, e.g. "16, 16".');
  }
  const learningRate = Number(value('learningRate'));
  if (!(learningRate > 0)) throw new Error('Learning rate: give a positive number, e.g. 0.01.');
  const batchSize = Number(value('batchSize'));
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('Batch size: give a whole number ≥ 1.');
  const epochs = Number(value('epochs'));
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error('Epochs: give a whole number ≥ 1.');
  return {
    ...dataRequest(),
    hidden,
    activation: value('activation') as TrainConfig['activation'],
    optimizer: value('optimizer') as TrainConfig['optimizer'],
    learningRate,
    batchSize,
    epochs,
    backend: $<HTMLInputElement>('useJs').checked ? 'js' : 'wasm',
  };
}

function send(msg: ToWorker): void {
  worker.postMessage(msg);
}

function setTraining(on: boolean): void {
  buttons.train.disabled = on;
  buttons.stop.disabled = !on;
  for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) el.disabled = on;
}

function onMessage(msg: FromWorker): void {
  if (msg.type === 'data') {
    data = msg;
    drawBoundary(boundary, data, null, 0);
  } else if (msg.type === 'progress') {
    const first = msg.epoch - msg.epochLoss.length;
    msg.epochLoss.forEach((loss, i) => {
      history.epochs.push(first + i + 1);
      history.loss.push(loss);
      history.acc.push(msg.epochAcc[i] ?? 0);
    });
    fastest[msg.backend] = Math.max(fastest[msg.backend], msg.samplesPerSec);
    show('epoch', String(msg.epoch));
    show('loss', msg.loss >= 1e-3 ? msg.loss.toFixed(4) : msg.loss.toExponential(2));
    show('accuracy', `${(100 * msg.acc).toFixed(1)}%`);
    show('speed', `${Math.round(msg.samplesPerSec).toLocaleString('en')} (${msg.backend})`);
    show(`speed-${msg.backend}`, Math.round(fastest[msg.backend]).toLocaleString('en'));
    if (data) drawBoundary(boundary, data, msg.grid, msg.gridSize);
    drawChart(chart, history.epochs, history.loss, history.acc);
  } else if (msg.type === 'stopped') {
    setTraining(false);
    show('status', `stopped after ${msg.epoch} epochs`);
  } else {
    setTraining(false);
    show('status', 'error');
    show('error', msg.message);
  }
}

function startWorker(): void {
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<FromWorker>) => onMessage(event.data);
  worker.onerror = (event) => onMessage({ type: 'error', message: event.message || 'the worker failed to start' });
}

/** Clears the run and draws fresh data. A training run is cut short by replacing its worker. */
function reset(): void {
  worker?.terminate();
  startWorker();
  history.epochs.length = history.loss.length = history.acc.length = 0;
  drawChart(chart, [], [], []);
  for (const id of ['loss', 'accuracy', 'speed']) show(id, '–');
  show('epoch', '0');
  show('status', 'ready');
  show('error', '');
  setTraining(false);
  send({ type: 'data', request: dataRequest() });
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  let config: TrainConfig;
  try {
    config = trainConfig();
  } catch (err) {
    show('error', (err as Error).message);
    return;
  }
  reset();
  setTraining(true);
  show('status', `training (${config.backend})`);
  send({ type: 'train', config });
});
buttons.stop.addEventListener('click', () => send({ type: 'stop' }));
$('reset').addEventListener('click', reset);
for (const id of ['dataset', 'samples', 'seed']) $(id).addEventListener('change', reset);

reset();
