// The demo imports 'simdnet' from the library's source, so it runs without a prior build and
// picks up changes live. An app using the published package needs no config at all.
//
// `npm run demo` serves it, `npm run demo:build` writes a static copy to examples/browser/dist/
// that works from any path (relative URLs), and `npm run demo:preview` serves that copy. Both
// servers send the two headers that make a page cross-origin isolated, which threads need
// (SharedArrayBuffer); a host of the static copy should send them too (see dist/_headers).
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { mnistDigits } from './digits-plugin.js';

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const page = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/**
 * TF.js's threaded WebAssembly build starts its threads from the source text of a function in its
 * module (Function.prototype.toString), run there outside the module's scope. A minifier must not
 * rename the names that text refers to, nor rewrite its `typeof name !== "undefined"` guards (true
 * in the module, not in a thread), so the TF.js worker is only stripped of white space; the other
 * workers are minified fully.
 */
function keepTfjsNames(): Plugin {
  let tfjs = false;
  return {
    name: 'simdnet-demo-keep-tfjs-names',
    options(options) {
      tfjs = JSON.stringify(options.input ?? '').includes('tfjs-worker');
    },
    outputOptions(output) {
      return tfjs && output.minify !== 'dce-only' ? { ...output, minify: { mangle: false, compress: false } } : output;
    },
  };
}

export default defineConfig({
  base: './',
  resolve: {
    alias: { simdnet: fileURLToPath(new URL('../../src/index.ts', import.meta.url)) },
  },
  plugins: [mnistDigits()],
  // Module workers, so the workers can import the library like any module.
  worker: { format: 'es', plugins: () => [keepTfjsNames()] },
  // Pre-bundled at start-up: found later (through a worker), they would make Vite reload the page.
  optimizeDeps: {
    include: ['uplot', '@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-wasm'],
  },
  server: { host: 'localhost', port: 5173, headers: ISOLATION_HEADERS },
  preview: { host: 'localhost', port: 4173, headers: ISOLATION_HEADERS },
  build: {
    target: 'es2022',
    // Every browser with WebAssembly SIMD preloads modules itself or does without.
    modulePreload: { polyfill: false },
    // TF.js is a large chunk, loaded only by the comparison's worker.
    chunkSizeWarningLimit: 2000,
    rolldownOptions: {
      input: { index: page('index.html'), mnist: page('mnist.html') },
      // What both pages share (the chart, uPlot, the threads control) in one chunk named for it.
      output: { codeSplitting: { groups: [{ name: 'shared', test: /uplot|chart\.ts|threads-control\.ts/ }] } },
    },
  },
});
