/**
 * Where subnormal floats (0 < |x| < 1.17549435e-38) appear over a long training run, buffer by
 * buffer, and what they cost, kernel by kernel. x86 runs arithmetic on subnormals through slow
 * microcode and WebAssembly has no flush-to-zero mode, so a kernel that reads or writes many of them
 * slows down (see docs/API.md, "Subnormal floats").
 *
 *   npx tsx bench/subnormals.ts [--backend wasm|relaxed|js] [--epochs 12] [--rows 8192] [--batch 64]
 *                               [--optimizer adam|momentum|sgd] [--lr 0.001] [--l2 0] [--data random|mnist]
 *                               [--hidden 128,64] [--activation relu|sigmoid|tanh] [--output softmax|sigmoid]
 *                               [--wasm build.wasm]
 *
 * Default: the network of the "long run" benchmark (bench/training.ts), 784-128-64-10 ReLU/softmax,
 * Adam lr 1e-3, batch 64, on random data (uniform pixels, random one-hot labels). It runs the steps
 * of src/network.ts as fit does (gather, forward, loss, backward, update; without fit's guard and
 * callbacks), so that every buffer is at hand: after each step it counts the subnormals in each,
 * and it times every kernel call. Per epoch it prints the samples/s, the largest count seen in each
 * buffer during the epoch, and the milliseconds spent per kernel.
 */
import { readFileSync } from 'node:fs';
import { createBackend, createWasmBackend, type Backend, type Ptr } from '../src/backend/index.js';
import { resolveLayers, initializeKernel, dense } from '../src/layers.js';
import { applyUpdate, computeBatch, Totals, type Network } from '../src/network.js';
import { parseOptimizer } from '../src/optimizers.js';
import { allocateBatch, allocateModel, rowAt, upload } from '../src/plan.js';
import { Random } from '../src/random.js';
import { enableRelaxedSimd } from '../src/node.js';
import { loadDigits } from './training.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const backendName = args.get('backend') ?? 'wasm';
const epochs = Number(args.get('epochs') ?? 12);
const rows = Number(args.get('rows') ?? 8192);
const batchSize = Number(args.get('batch') ?? 64);
const optimizerName = args.get('optimizer') ?? 'adam';
const lr = Number(args.get('lr') ?? (optimizerName === 'adam' ? 0.001 : 0.01));
const l2 = Number(args.get('l2') ?? 0);
const dataName = args.get('data') ?? 'random';
const hidden = (args.get('hidden') ?? '128,64').split(',').map(Number);
const activation = (args.get('activation') ?? 'relu') as 'relu' | 'sigmoid' | 'tanh';
// sigmoid: ten sigmoid outputs with binary cross-entropy on the one-hot labels.
const output = (args.get('output') ?? 'softmax') as 'softmax' | 'sigmoid';
const loss = output === 'softmax' ? 'categoricalCrossentropy' : 'binaryCrossentropy';
const inputs = 784, outputs = 10;

/** Subnormal floats among n floats at ptr (bit patterns 0x00000001…0x007fffff, either sign). */
export function countSubnormals(u32: Uint32Array, ptr: Ptr, n: number): number {
  let count = 0;
  const end = (ptr >> 2) + n;
  for (let i = ptr >> 2; i < end; i++) {
    const bits = u32[i] & 0x7fffffff;
    if (bits !== 0 && bits < 0x00800000) count++;
  }
  return count;
}

/** The backend with every kernel call timed into `times` (ms per kernel name). */
function timed(backend: Backend, times: Map<string, number>): Backend {
  return new Proxy(backend, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function' || typeof key !== 'string' || ['alloc', 'mark', 'release'].includes(key)) return value;
      return (...a: unknown[]) => {
        const t0 = performance.now();
        const out = (value as (...x: unknown[]) => unknown).apply(target, a);
        times.set(key, (times.get(key) ?? 0) + performance.now() - t0);
        return out;
      };
    },
  });
}

function randomData(n: number, seed: number): { x: Float32Array; y: Float32Array } {
  const rng = new Random(seed, 7);
  const x = new Float32Array(n * inputs);
  for (let i = 0; i < x.length; i++) x[i] = rng.next();
  const y = new Float32Array(n * outputs);
  for (let r = 0; r < n; r++) y[r * outputs + rng.int(outputs)] = 1;
  return { x, y };
}

if (backendName === 'relaxed') enableRelaxedSimd();
// --wasm: another build of the kernels (e.g. an older one, to compare).
const wasmFile = args.get('wasm');
const raw = backendName === 'js' ? await createBackend('js')
  : wasmFile !== undefined ? await createWasmBackend({ bytes: readFileSync(wasmFile) })
  : await createBackend('wasm', { relaxed: backendName === 'relaxed' });
const times = new Map<string, number>();
const backend = timed(raw, times);

const { specs } = resolveLayers('survey', [
  dense({ units: hidden[0], activation, inputShape: [inputs] }),
  ...hidden.slice(1).map((units) => dense({ units, activation })),
  dense({ units: outputs, activation: output }),
]);
const mem = allocateModel(raw, specs);
const initial = new Float32Array(mem.layout.floats);
const initRng = new Random(1, 0);
specs.forEach((spec, l) => initializeKernel(spec, initRng, initial, mem.layout.weightOffsets[l]));
raw.f32.set(initial, mem.params >> 2);
const net: Network = { backend, specs, mem, step: 0, lr, schedule: null, seed: 1, sparseInputs: false, inputDensity: Number.NaN, sparseInput: false };
const optimizer = parseOptimizer('survey', { type: optimizerName, learningRate: lr, l2 });

const data = dataName === 'mnist' ? loadDigits(rows) : randomData(rows, 3);
const x = upload(raw, data.x);
const y = upload(raw, data.y);
const order = raw.alloc(rows);
for (let i = 0; i < rows; i++) raw.i32[(order >> 2) + i] = i;
const bufs = allocateBatch(raw, specs, batchSize, { gather: true, loss: true, backward: true });
const shuffleRng = new Random(7, 1);
const totals = new Totals();

// The buffers counted: name → [ptr, floats].
const buffers: Array<[string, Ptr, number]> = [['input batch', bufs.x, batchSize * inputs]];
specs.forEach((s, l) => {
  const n = `${l + 1}`;
  buffers.push([`W${n}`, mem.w[l], s.inputUnits * s.units], [`b${n}`, mem.b[l], s.units]);
  buffers.push([`dW${n}`, mem.dw[l], s.inputUnits * s.units], [`db${n}`, mem.db[l], s.units]);
  const at = (base: Ptr, offset: number): Ptr => base + 4 * offset;
  buffers.push([`m(W${n})`, at(mem.state0, mem.layout.weightOffsets[l]), s.inputUnits * s.units]);
  buffers.push([`m(b${n})`, at(mem.state0, mem.layout.biasOffsets[l]), s.units]);
  buffers.push([`v(W${n})`, at(mem.state1, mem.layout.weightOffsets[l]), s.inputUnits * s.units]);
  buffers.push([`v(b${n})`, at(mem.state1, mem.layout.biasOffsets[l]), s.units]);
  buffers.push([`A${n}`, bufs.acts[l], batchSize * s.units]);
});
const widest = Math.max(...specs.map((s) => s.units));
buffers.push(['logits', bufs.logits, batchSize * outputs], ['dZ', bufs.delta, batchSize * widest], ['dZ spare', bufs.spare, batchSize * widest]);

const u32 = (): Uint32Array => new Uint32Array(raw.f32.buffer);
console.log(`${specs.map((s) => s.inputUnits).concat(outputs).join('-')} ${activation}/${output}, ${optimizerName} lr ${lr}${l2 > 0 ? ` l2 ${l2}` : ''}, batch ${batchSize}, ` +
  `${rows} ${dataName} rows, ${epochs} epochs, backend ${backendName}${raw.relaxed ? ' (relaxed)' : ''}${wasmFile ? ` (${wasmFile})` : ''}`);
console.log(`data set: ${countSubnormals(u32(), x, rows * inputs)} subnormal inputs`);
const steps = Math.ceil(rows / batchSize);
const paramFloats = mem.layout.floats;
for (let epoch = 0; epoch < epochs; epoch++) {
  const peak = new Map<string, number>();
  times.clear();
  shuffleRng.shuffleInt32(raw.i32, order >> 2, rows);
  totals.loss = 0;
  let busy = 0;
  for (let b = 0; b < steps; b++) {
    const m = Math.min(batchSize, rows - b * batchSize);
    const t0 = performance.now();
    backend.gatherRows(x, rowAt(order, b * batchSize, 1), m, inputs, bufs.x);
    backend.gatherRows(y, rowAt(order, b * batchSize, 1), m, outputs, bufs.y);
    computeBatch(net, loss, bufs.x, bufs.y, m, bufs, 0, totals);
    applyUpdate(net, optimizer);
    busy += performance.now() - t0;
    const view = u32();
    for (const [name, ptr, n] of buffers) peak.set(name, Math.max(peak.get(name) ?? 0, countSubnormals(view, ptr, n)));
  }
  const view = u32();
  const all = (base: Ptr): number => countSubnormals(view, base, paramFloats);
  const counts = [...peak].filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const kernels = [...times].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, ms]) => `${k} ${ms.toFixed(0)}`).join(', ');
  console.log(`epoch ${String(epoch + 1).padStart(2)}: loss ${(totals.loss / rows).toFixed(9)}, ` +
    `${Math.round(rows / (busy / 1000))} samples/s; end of epoch: params ${all(mem.params)}, m ${all(mem.state0)}, ` +
    `v ${all(mem.state1)}, grads ${all(mem.grads)} subnormal`);
  console.log(`  most in a step: ${counts}`);
  console.log(`  ms per kernel: ${kernels}`);
}
