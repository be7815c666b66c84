/**
 * fit shares the thread: it yields to the event loop between batches (timers, I/O and signal
 * handlers run while it trains), stops when model.stopTraining is set, and rejects when its
 * AbortSignal is aborted, leaving the model as after its last completed batch.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dense, sequential, SimdnetError, xor, type Sequential } from '../src/index.js';
import { BACKEND_NAMES } from './backends.js';

const { x: X, y: Y } = xor(64, 1);
/** Epochs a fit that never yields would run to the end: seconds of work. */
const MANY = 200_000;

async function model(backend: 'wasm' | 'js'): Promise<Sequential> {
  const m = await sequential({
    layers: [dense({ units: 8, activation: 'tanh', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })],
    backend,
    seed: 3,
  });
  m.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.01 } });
  return m;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

/** A long fit that a timer stops: the timer can only fire if fit yields to the event loop. */
async function stoppedByTimer(m: Sequential): Promise<number> {
  let ticks = 0;
  const ticker = setInterval(() => { ticks++; }, 1);
  const stop = setTimeout(() => { m.stopTraining = true; }, 20);
  try {
    const history = await m.fit(X, Y, { epochs: MANY, batchSize: 16 });
    expect(history.epoch.length).toBeLessThan(MANY);
    expect(ticks).toBeGreaterThan(0);
    return history.epoch.length;
  } finally {
    clearInterval(ticker);
    clearTimeout(stop);
  }
}

describe.each(BACKEND_NAMES)('on %s', (backend) => {
  it('timers run while fit trains (it yields to the event loop), and one can stop it', async () => {
    const m = await model(backend);
    await stoppedByTimer(m);
    m.dispose();
  });

  it('stopTraining set in onBatchEnd ends the epoch after that batch; fit resolves with the history so far', async () => {
    const m = await model(backend);
    const losses: number[] = [];
    const history = await m.fit(X, Y, {
      epochs: 5, batchSize: 16, seed: 1,
      callbacks: {
        onBatchEnd(batch, logs) {
          losses.push(logs.loss);
          if (losses.length === 6) m.stopTraining = true; // epoch 1, batch 1
        },
      },
    });
    expect(history.epoch).toEqual([0, 1]);
    // The cut epoch's loss is the mean over the batches that ran (equal sizes here).
    expect(history.history.loss[1]).toBeCloseTo((losses[4] + losses[5]) / 2, 6);
    // The next fit starts with stopTraining false again.
    const next = await m.fit(X, Y, { epochs: 2, batchSize: 16 });
    expect(next.epoch).toEqual([0, 1]);
    m.dispose();
  });

  it('stopTraining set in onEpochEnd ends the fit after that epoch', async () => {
    const m = await model(backend);
    const history = await m.fit(X, Y, {
      epochs: 10, batchSize: 16,
      callbacks: { onEpochEnd(epoch) { if (epoch === 2) m.stopTraining = true; } },
    });
    expect(history.epoch).toEqual([0, 1, 2]);
    m.dispose();
  });

  it('an aborted signal rejects fit with a SimdnetError; the model is as after its last completed batch', async () => {
    const m = await model(backend);
    const controller = new AbortController();
    let weights: Float32Array[] = [];
    const error = await m.fit(X, Y, {
      epochs: 5, batchSize: 16, signal: controller.signal,
      callbacks: {
        onBatchEnd(batch) {
          if (batch === 2) {
            weights = m.getWeights();
            controller.abort();
          }
        },
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimdnetError);
    expect((error as SimdnetError).argument).toBe('signal');
    expect((error as SimdnetError).message).toMatch(
      /^fit\(\): aborted by options\.signal in epoch 0, after batch 2 \(counted from 0\); the model is as after that batch$/,
    );
    expect(m.getWeights()).toEqual(weights);
    // The model trains on afterwards.
    expect((await m.fit(X, Y, { epochs: 1 })).history.loss).toHaveLength(1);
    m.dispose();
  });

  it('a signal aborted from a timer stops a long fit; one aborted before fit trains nothing', async () => {
    const m = await model(backend);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('time is up')), 20);
    const aborted = m.fit(X, Y, { epochs: MANY, signal: controller.signal });
    await expect(aborted).rejects.toThrow(/aborted by options\.signal \(time is up\) (in|after) epoch \d+/);
    clearTimeout(timer);
    const before = m.getWeights();
    await expect(m.fit(X, Y, { signal: controller.signal })).rejects.toThrow(/before training started; nothing was trained/);
    expect(m.getWeights()).toEqual(before);
    await expect(m.fit(X, Y, { signal: {} as AbortSignal })).rejects.toThrow(/signal must be an AbortSignal/);
    m.dispose();
  });
});

describe('how fit yields', () => {
  it('with a MessageChannel where there is no setImmediate (browsers)', async () => {
    vi.stubGlobal('setImmediate', undefined);
    const m = await model('wasm');
    await stoppedByTimer(m);
    m.dispose();
  });

  it("with the host's scheduler.yield where there is one", async () => {
    let yields = 0;
    vi.stubGlobal('scheduler', { yield: () => { yields++; return new Promise((resolve) => setTimeout(resolve, 0)); } });
    const m = await model('wasm');
    await stoppedByTimer(m);
    expect(yields).toBeGreaterThan(0);
    m.dispose();
  });
});
