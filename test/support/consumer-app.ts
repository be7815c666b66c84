/**
 * The files of an empty project that uses simdnet the way the README tells a user to: from Node,
 * from TypeScript, from a Vite app (main thread and a worker), and from static pages (the ES
 * modules with an import map, and the pre-bundled file without one).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// Shared by every consumer: train XOR briefly on a backend, report the loss before and after, and
// the threads the model ran on: as many as 'auto', the default, gives a model large enough for
// threads (XOR itself is too small: 'auto' keeps it on one).
const xor = `import { dense, sequential } from 'simdnet';

async function autoThreads(backend) {
  const wide = await sequential({ layers: [dense({ units: 128, inputShape: [128] })], backend });
  const threads = wide.threads;
  wide.dispose();
  return threads;
}

async function trainXor(backend) {
  const model = await sequential({
    layers: [dense({ units: 8, activation: 'tanh', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })],
    backend,
    threads: await autoThreads(backend),
    seed: 1,
  });
  model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.05 }, metrics: ['accuracy'] });
  const x = [[0, 0], [0, 1], [1, 0], [1, 1]];
  const y = [0, 1, 1, 0];
  const before = model.evaluate(x, y).loss;
  await model.fit(x, y, { epochs: 200, batchSize: 4 });
  const after = model.evaluate(x, y).loss;
  const name = model.backend.name;
  const threads = model.threads;
  model.dispose();
  return { backend: name, before, after, threads };
}

export async function trainBoth() {
  return [await trainXor('wasm'), await trainXor('js')];
}
`;

const page = (head: string, script: string) => `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>simdnet consumer</title><link rel="icon" href="data:," />${head}</head>
  <body>${script}</body>
</html>
`;

// Reports to window for the test; a worker run is added where the page is bundled.
const report = (withWorker: boolean, xorModule = './xor.js') => `
import { trainBoth } from '${xorModule}';
const results = { main: [], worker: [] };
try {
  results.main = await trainBoth();
  ${
    withWorker
      ? `const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  results.worker = await new Promise((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(event.message));
  });`
      : ''
  }
} catch (err) {
  results.error = String((err && err.stack) || err);
}
window.results = results;
window.done = true;
`;

// Bare specifiers resolved by the page itself: no bundler, no server configuration.
const importMap = `
<script type="importmap">
{ "imports": {
  "simdnet": "./node_modules/simdnet/dist/index.js"
} }
</script>`;

const typed = `import { dense, sequential, type LabelsLike, type MatrixLike } from 'simdnet';

const x: MatrixLike = [[0, 1]];
const y: LabelsLike = [1];
const model = await sequential({
  layers: [dense({ units: 4, activation: 'relu', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })],
});
model.compile({ loss: 'binaryCrossentropy', optimizer: 'adam' });
export const out: Float32Array = model.predict(x).data;
export const loss: number = model.evaluate(x, y).loss;
// @ts-expect-error activation names are checked, so this line must not compile
dense({ units: 4, activation: 'mish' });
`;

const tsconfig = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2022', 'DOM'],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
  },
  files: ['check.ts'],
};

// A CommonJS project, as `npm init -y` makes one: require() of both entry points, with no flag,
// and a TypeScript file compiled with module nodenext (which, in such a project, emits require()).
const cjsProject = {
  'cjs/package.json': JSON.stringify({ name: 'simdnet-cjs-consumer', private: true, type: 'commonjs' }, null, 2),
  'cjs/require.js': `const simdnet = require('simdnet');
const node = require('simdnet/node');
const { dense, sequential } = simdnet;

async function main() {
  const model = await sequential({
    layers: [dense({ units: 8, activation: 'tanh', inputShape: [2] }), dense({ units: 1, activation: 'sigmoid' })],
    seed: 1,
  });
  model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.05 } });
  const x = [[0, 0], [0, 1], [1, 0], [1, 1]];
  const y = [0, 1, 1, 0];
  const before = model.evaluate(x, y).loss;
  await model.fit(x, y, { epochs: 200, batchSize: 4 });
  const after = model.evaluate(x, y).loss;
  const file = require('node:path').join(require('node:os').tmpdir(), 'simdnet-cjs-' + process.pid + '.simdnet');
  await node.saveModelFile(model, file);
  const again = await node.loadModelFile(file);
  require('node:fs').unlinkSync(file);
  console.log(JSON.stringify({
    exports: Object.keys(simdnet).sort(),
    nodeExports: Object.keys(node).sort(),
    loadedIsSequential: again instanceof simdnet.Sequential,
    outcome: { backend: model.backend.name, before, after },
  }));
}
main().catch((err) => { console.error(err); process.exit(1); });
`,
  'cjs/check.ts': `import { dense, sequential, SimdnetError, type LabelsLike } from 'simdnet';
import { loadModelFile } from 'simdnet/node';

async function main(): Promise<void> {
  const y: LabelsLike = [0, 1];
  const model = await sequential({ layers: [dense({ units: 1, activation: 'sigmoid', inputShape: [2] })], backend: 'js' });
  model.compile({ loss: 'binaryCrossentropy', optimizer: 'adam' });
  const loss: number = model.evaluate([[0, 0], [1, 1]], y).loss;
  const missing = await loadModelFile('no-such-model.simdnet').catch((err: unknown) => err);
  console.log(JSON.stringify({ loss, refused: missing instanceof SimdnetError }));
}
void main();
`,
  'cjs/tsconfig.json': JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: [], lib: ['ES2022', 'DOM'], strict: true, skipLibCheck: false, outDir: 'out' },
    files: ['check.ts'],
  }, null, 2),
};

export async function write(dir: string): Promise<void> {
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'simdnet-consumer', private: true, type: 'module' }, null, 2),
    'xor.js': xor,
    'node.mjs': `import { trainBoth } from './xor.js';\nconsole.log(JSON.stringify(await trainBoth()));\n`,
    // CommonJS reaches the ES module package through import().
    'node.cjs': `import('./xor.js').then(async ({ trainBoth }) => console.log(JSON.stringify(await trainBoth())));\n`,
    'index.html': page('', '<script type="module" src="./main.js"></script>'),
    'main.js': report(true),
    'worker.js': `import { trainBoth } from './xor.js';\ntrainBoth().then((r) => postMessage(r));\n`,
    'static.html': page(importMap, `<script type="module">${report(false)}</script>`),
    // The pre-bundled file needs neither a bundler nor an import map.
    'xor-bundle.js': xor.replace(`from 'simdnet'`, `from './node_modules/simdnet/dist/browser/simdnet.js'`),
    'static-bundle.html': page('', `<script type="module">${report(false, './xor-bundle.js')}</script>`),
    'check.ts': typed,
    'tsconfig.json': JSON.stringify(tsconfig, null, 2),
  };
  Object.assign(files, cjsProject);
  await mkdir(join(dir, 'cjs'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}
