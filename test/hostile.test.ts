/**
 * Hostile and broken model files: every way a file can be wrong gets a SimdnetError that says what
 * is wrong, before any model memory is allocated; never a crash, a hang, a huge allocation or a
 * half-loaded model. Then a fuzz test: random damage to valid files either loads a valid model or
 * throws SimdnetError, nothing else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dense, loadModel, MODEL_LIMITS, sequential, SimdnetError, type Sequential } from '../src/index.js';

const ENCODER = new TextEncoder();

/** A file laid out as the format says, from parts each test may get wrong on purpose. */
function craft(parts: { header: unknown; floats: ArrayLike<number>; magic?: string; version?: number; jsonLength?: number; padding?: number }): Uint8Array {
  const json = ENCODER.encode(typeof parts.header === 'string' ? parts.header : JSON.stringify(parts.header));
  const floatsAt = Math.ceil((12 + json.length) / 4) * 4;
  const bytes = new Uint8Array(floatsAt + 4 * parts.floats.length);
  const view = new DataView(bytes.buffer);
  bytes.set(ENCODER.encode(parts.magic ?? 'SNET'), 0);
  view.setUint32(4, parts.version ?? 2, true);
  view.setUint32(8, parts.jsonLength ?? json.length, true);
  bytes.set(json, 12);
  if (parts.padding !== undefined && floatsAt > 12 + json.length) bytes[12 + json.length] = parts.padding;
  for (let i = 0; i < parts.floats.length; i++) view.setFloat32(floatsAt + 4 * i, parts.floats[i], true);
  return bytes;
}

/** The header and floats of a file simdnet wrote. */
function split(bytes: Uint8Array): { header: Record<string, unknown>; floats: Float32Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))) as Record<string, unknown>;
  const at = Math.ceil((12 + length) / 4) * 4;
  const floats = new Float32Array((bytes.length - at) / 4);
  for (let i = 0; i < floats.length; i++) floats[i] = view.getFloat32(at + 4 * i, true);
  return { header, floats };
}

// A 3 → 4 → 2 model, Adam state included: 26 parameters, then m and v.
const BASE = await (async () => {
  const model = await sequential({
    layers: [dense({ units: 4, activation: 'relu', inputShape: [3] }), dense({ units: 2, activation: 'softmax' })],
    backend: 'js',
    seed: 1,
  });
  model.compile({ loss: 'categoricalCrossentropy', optimizer: 'adam', metrics: ['accuracy'] });
  await model.fit([[0, 1, 2], [1, 0, 1], [2, 2, 0]], [0, 1, 1], { epochs: 2, batchSize: 2 });
  const bytes = model.save({ metadata: { note: 'base' } });
  model.dispose();
  return bytes;
})();
const { header: HEADER, floats: FLOATS } = split(BASE);
const PARAMS = 26;

async function refused(bytes: unknown, pattern: RegExp): Promise<void> {
  const error = await loadModel(bytes as Uint8Array, { backend: 'js' }).then(
    (m) => { m.dispose(); return undefined; },
    (e: unknown) => e,
  );
  expect(error, 'loadModel should have refused').toBeInstanceOf(SimdnetError);
  expect((error as SimdnetError).message).toMatch(pattern);
}

const withHeader = (changes: Record<string, unknown>, floats: ArrayLike<number> = FLOATS): Uint8Array =>
  craft({ header: { ...HEADER, ...changes }, floats });

describe('broken files get a clear error', () => {
  it('the crafted base file is valid (so each case below tests one fault)', async () => {
    const model = await loadModel(craft({ header: HEADER, floats: FLOATS }), { backend: 'js' });
    expect(model.countParams()).toBe(PARAMS);
    model.dispose();
  });

  it('not bytes, empty, wrong magic, unknown version', async () => {
    await refused('SNET', /Uint8Array/);
    await refused([1, 2, 3], /Uint8Array/);
    await refused(new Uint8Array(0), /only 0 bytes/);
    await refused(craft({ header: HEADER, floats: FLOATS, magic: 'SNAP' }), /do not start with 'SNET'/);
    await refused(BASE.subarray(0, 10), /start with 'SNET' but are only 10 bytes long, shorter than the 12-byte preamble/);
    await refused(BASE.subarray(0, 1), /only 1 byte long/);
    for (const version of [0, 4, 0xffffffff]) await refused(craft({ header: HEADER, floats: FLOATS, version }), new RegExp(`version is ${version}`));
  });

  it('truncated anywhere', async () => {
    for (const cut of [4, 11, 12, 40, BASE.length - 4 * 3 * PARAMS, BASE.length - 1]) {
      await refused(BASE.subarray(0, cut), /truncated|only \d+ bytes|do not start/);
    }
  });

  it('oversized: trailing bytes, a header length past the end or past the limit', async () => {
    await refused(new Uint8Array([...BASE, 0, 0, 0, 0]), /extra bytes at the end/);
    await refused(craft({ header: HEADER, floats: FLOATS, jsonLength: 0xffffffff }), /more than the limit of 16777216/);
    await refused(craft({ header: HEADER, floats: FLOATS, jsonLength: BASE.length }), /runs past the end/);
  });

  it('a header that is not UTF-8 JSON, not an object, or has unknown fields', async () => {
    const bad = craft({ header: HEADER, floats: FLOATS });
    bad[12] = 0xff;
    await refused(bad, /not valid UTF-8 JSON/);
    await refused(craft({ header: '[1, 2]', floats: FLOATS }), /an array of length 2, not an object/);
    await refused(withHeader({ evil: true }), /unknown field "evil"/);
    // shuffleState is required from version 2 on, unknown to version 1, and must be a generator state.
    await refused(craft({ header: HEADER, floats: FLOATS, version: 1 }), /unknown field "shuffleState" \(format version 1\)/);
    for (const shuffleState of [undefined, [1, 2, 3], [0, 0, 0, 0], [1, 2, 3, 2 ** 32], [1, 2, 3, -1], [1, 2, 3, 0.5], 'abcd']) {
      await refused(withHeader({ shuffleState }), /shuffleState is .*, not four 32-bit unsigned integers/);
    }
    await refused(craft({ header: HEADER, floats: FLOATS, padding: 7 }), /padding after the header is not zero/);
  });

  it('sizes beyond the stated limits are refused before anything is allocated', async () => {
    const started = performance.now();
    const huge = [{ type: 'dense', units: 60000, activation: 'relu', alpha: 0.01, inputShape: [60000], kernelInitializer: 'heNormal' }];
    const hugeHeader = { layers: huge, paramCount: 60000 * 60001, loss: null, optimizer: null, metrics: [], stateSlots: 0 };
    await refused(withHeader(hugeHeader, []), /3600060000 parameters, more than the limit of 67108864/);
    const wide = [{ units: 2_000_000, activation: 'linear', inputShape: [1] }];
    const wideHeader = { layers: wide, paramCount: 4_000_000, loss: null, optimizer: null, metrics: [], stateSlots: 0 };
    await refused(withHeader(wideHeader, []), /the model has 2000000 units in layers\[0\], more than the limit/);
    const deep = Array.from({ length: MODEL_LIMITS.maxLayers + 1 }, (_, i) => ({ units: 1, ...(i === 0 ? { inputShape: [1] } : {}) }));
    await refused(withHeader({ layers: deep }), /1025 layers, more than the limit of 1024/);
    // A claimed paramCount far beyond the bytes present: refused by arithmetic, not by trying.
    await refused(withHeader({ paramCount: 2 ** 40 }), /paramCount is 1099511627776, but its layers have 26/);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('save() refuses a model beyond the limits, in a sentence that reads', async () => {
    const wide = await sequential({ layers: [dense({ units: MODEL_LIMITS.maxUnits + 1, inputShape: [1] })], backend: 'js' });
    expect(() => wide.save()).toThrow(/save\(\): the model has 1048577 units in layers\[0\], more than the limit of 1048576, so it could not be loaded again$/);
    wide.dispose();
  });

  it('layers, shapes and counts that do not agree', async () => {
    await refused(withHeader({ layers: [] }), /not a non-empty array/);
    await refused(withHeader({ layers: [{ units: 0, inputShape: [3] }] }), /a layer is invalid: layers\[0\]\.units must be a positive integer, got 0/);
    await refused(withHeader({ layers: [{ units: 4, activation: 'mish', inputShape: [3] }] }), /layers\[0\]\.activation/);
    await refused(withHeader({ layers: [{ units: 4 }] }), /inputShape/);
    await refused(withHeader({ paramCount: 25 }), /paramCount is 25, but its layers have 26/);
    await refused(withHeader({ stateSlots: 1 }), /stateSlots is 1, where 0 or 2 for adam/);
    await refused(withHeader({ dtype: 'float16' }), /dtype is "float16"; this simdnet stores float32 only/);
  });

  it('compile settings, step and seed that are not valid', async () => {
    await refused(withHeader({ loss: 'binaryCrossentropy' }), /loss 'binaryCrossentropy' needs a 'sigmoid' output layer/);
    await refused(withHeader({ optimizer: { type: 'lamb' } }), /optimizer\.type/);
    await refused(withHeader({ optimizer: { type: 'adam', learningRate: -1 } }), /learningRate must be a positive number/);
    await refused(withHeader({ metrics: ['precision'] }), /metrics/);
    await refused(withHeader({ loss: null }), /an optimizer but no loss/);
    await refused(withHeader({ step: -1 }), /step is -1/);
    await refused(withHeader({ step: 1.5 }), /step is 1\.5/);
    await refused(withHeader({ seed: 'x' }), /seed is "x"/);
  });

  it('non-finite weights or optimizer state, and a negative Adam second moment', async () => {
    for (const [index, value] of [[0, NaN], [25, Infinity], [3, -Infinity]] as const) {
      const floats = FLOATS.slice();
      floats[index] = value;
      await refused(craft({ header: HEADER, floats }), new RegExp(`weight ${index} is ${value}`));
    }
    const state = FLOATS.slice();
    state[PARAMS + 5] = NaN;
    await refused(craft({ header: HEADER, floats: state }), /optimizer state value 5 is NaN/);
    const negative = FLOATS.slice();
    negative[2 * PARAMS + 7] = -1;
    await refused(craft({ header: HEADER, floats: negative }), /state slot 1 \(a mean of squares\) holds -1 at 7/);
  });

  it('a Blob larger than any valid file is refused without reading it', async () => {
    const blob = { size: 2 ** 40 } as Blob;
    Object.setPrototypeOf(blob, Blob.prototype);
    await refused(blob, /holds 1099511627776 bytes, more than/);
  });
});

/** A loaded model must be whole: finite weights, consistent shapes, and it predicts. */
function expectValid(model: Sequential): void {
  const weights = model.getWeights();
  expect(weights.length).toBe(2 * model.layers.length);
  for (const w of weights) expect(w.every(Number.isFinite)).toBe(true);
  const out = model.predict([Array.from({ length: model.inputUnits }, () => 0.5)]);
  expect(out.shape).toEqual([1, model.outputUnits]);
}

describe('fuzz: damaged files load as valid models or throw SimdnetError', () => {
  const SPECIAL = [0, 0xffffffff, 0x7fc00000, 0x7f800000, 0xff800000, 0x80000000, 0x7fffffff, 1, 4096];
  type Mutation =
    | { kind: 'flip'; at: number; bit: number }[]
    | { kind: 'word'; at: number; value: number }
    | { kind: 'truncate'; at: number }
    | { kind: 'insert'; at: number; bytes: Uint8Array }
    | { kind: 'json'; key: string; value: unknown };

  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.array(fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 1, maxLength: 8 }),
    fc.record({ kind: fc.constant('word' as const), at: fc.nat(), value: fc.constantFrom(...SPECIAL) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
    fc.record({ kind: fc.constant('json' as const), key: fc.constantFrom(...Object.keys(HEADER), 'layers.0', 'layers.1', 'optimizer.learningRate'), value: fc.jsonValue({ maxDepth: 2 }) }),
  );

  function apply(m: Mutation): Uint8Array {
    if (Array.isArray(m)) {
      const out = BASE.slice();
      for (const { at, bit } of m) out[at % out.length] ^= 1 << bit;
      return out;
    }
    switch (m.kind) {
      case 'word': {
        const out = BASE.slice();
        new DataView(out.buffer).setUint32(4 * (m.at % (out.length >> 2)), m.value, true);
        return out;
      }
      case 'truncate':
        return BASE.slice(0, m.at % BASE.length);
      case 'insert': {
        const at = m.at % BASE.length;
        return new Uint8Array([...BASE.subarray(0, at), ...m.bytes, ...BASE.subarray(at)]);
      }
      case 'json': {
        // A well-formed file with one header field replaced: reaches the semantic checks.
        const header: Record<string, unknown> = structuredClone(HEADER);
        const path = m.key.split('.');
        let target = header;
        for (const p of path.slice(0, -1)) target = target[p] as Record<string, unknown>;
        target[path.at(-1)!] = m.value;
        return craft({ header, floats: FLOATS });
      }
    }
  }

  it('random damage (fixed seed)', async () => {
    let loaded = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        let model: Sequential | undefined;
        try {
          model = await loadModel(apply(m), { backend: 'js' });
        } catch (err) {
          expect(err).toBeInstanceOf(SimdnetError);
          return;
        }
        loaded++;
        try {
          expectValid(model);
        } finally {
          model.dispose();
        }
      }),
      { seed: 20250101, numRuns: 600 },
    );
    // Some damage (a flipped weight bit, a metadata change) leaves a valid model: the fuzz reaches both outcomes.
    expect(loaded).toBeGreaterThan(0);
  });
});
