// The pre-bundled build on a page's main thread, as test/bundle.test.ts serves it: a model trains,
// on the threads the query asks for (?threads=2), and, with ?inflate=js, in an engine without
// DecompressionStream (as Firefox 89 to 112), where the JavaScript inflate reads the wasm.
const query = new URLSearchParams(location.search);
if (query.get('inflate') === 'js') delete globalThis.DecompressionStream;

try {
  const { sequential, moons } = await import('../../dist/browser/simdnet.js');
  const { x, y } = moons(256, 1);
  const model = await sequential({
    threads: Number(query.get('threads') ?? 1),
    seed: 3,
    layers: [{ units: 32, activation: 'tanh', inputShape: [2] }, { units: 1, activation: 'sigmoid' }],
  });
  model.compile({ loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 0.02 } });
  const history = await model.fit(x, y, { epochs: 20, batchSize: 64 });
  const loss = history.history.loss;
  window.bundleResults = { backend: model.backend.name, threads: model.threads, first: loss[0], last: loss.at(-1) };
  model.dispose();
} catch (err) {
  window.bundleResults = { error: String(err && err.stack || err) };
}
