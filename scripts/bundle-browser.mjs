#!/usr/bin/env node
// The pre-bundled browser build, dist/browser/simdnet.js: the whole library as one ES module (every
// export and the embedded wasm included), minified, for a page that imports
// it without a bundler or an import map. What only some pages need stays in chunks beside it,
// fetched only when a model asks for it: the relaxed-SIMD build, the threads' code with the two
// shared-memory builds, and the JavaScript inflate for engines without DecompressionStream.
// Prints what a page loads, gzipped.
// Usage: npm run build:browser (part of npm run build), or npm run size; needs the generated wasm
// module (npm run build:wasm).
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { minifyThreadSource } from './minify-thread-source.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const wasmFile = join(repo, 'build/simdnet.wasm');
const generatedFile = join(repo, 'src/wasm/simdnet.generated.ts');

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kB = (n) => `${(n / 1024).toFixed(1)} kB`;

// Vite only warns about a Node built-in and bundles an empty stub for it: refuse it here instead.
const builtins = [];
const recordBuiltins = {
  name: 'record-node-builtins',
  enforce: 'pre',
  resolveId(source, importer) {
    if (isBuiltin(source)) builtins.push(`${source} (imported by ${importer})`);
    return null;
  },
};
// The chunks loaded on demand, named for what they hold (the wasm builds' are already).
const CHUNK_NAMES = { create: 'simdnet-threads', inflate: 'simdnet-inflate' };
// The worker threads' source is a string the minifier cannot see into: minify it on the way in.
const minifyWorkerSource = {
  name: 'minify-thread-source',
  enforce: 'pre',
  transform(code, id) {
    return id.endsWith('/src/backend/threads/worker-source.ts') ? { code: minifyThreadSource(code, id), map: null } : null;
  },
};
const result = await build({
  configFile: false,
  root: repo,
  publicDir: false,
  logLevel: 'error',
  plugins: [recordBuiltins, minifyWorkerSource],
  build: {
    outDir: join(repo, 'dist/browser'),
    emptyOutDir: true,
    minify: true,
    target: 'es2022',
    // Library mode: an app build would wrap each dynamic import in Vite's preload helper (1 kB
    // gzipped, for CSS and module preloads a library has none of, and which reaches for `window`
    // and `document`). Library mode leaves an ES bundle's whitespace unminified unless the output
    // asks for it, hence output.minify.
    lib: { entry: join(repo, 'src/index.ts'), formats: ['es'], fileName: () => 'simdnet.js' },
    rollupOptions: {
      // One file for every page: the threads' chunk shares code with the library (the wasm backend
      // it extends), which it imports from simdnet.js itself, as a few extra exports with one-letter
      // names; 'strict' would move that code into a second file that every page loads.
      preserveEntrySignatures: 'allow-extension',
      output: { minify: true, chunkFileNames: (chunk) => `${CHUNK_NAMES[chunk.name] ?? chunk.name}.js` },
    },
  },
});
if (builtins.length) throw new Error(`the browser build imports Node built-ins: ${builtins.join(', ')}`);
const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
const assets = outputs.filter((o) => o.type === 'asset');
if (assets.length) throw new Error(`expected scripts only, got extra files: ${assets.map((a) => a.fileName).join(', ')}`);

const chunks = outputs.filter((o) => o.type === 'chunk');
const shared = chunks.filter((c) => !c.isEntry && !c.isDynamicEntry);
if (shared.length) throw new Error(`expected one file loaded up front, got also ${shared.map((c) => c.fileName).join(', ')}`);
const eager = Buffer.from(chunks.filter((c) => !c.isDynamicEntry).map((c) => c.code).join('\n'));
console.log(
  `dist/browser/simdnet.js (the library with the default wasm build embedded), minified: ${kB(eager.length)}, ` +
    `gzipped: ${kB(gz(eager))} (at most 60 kB: test/bundle.test.ts)`,
);
const embedded = /'([A-Za-z0-9+/=]+)'/.exec(readFileSync(generatedFile, 'utf8'))?.[1];
if (existsSync(wasmFile) && embedded) {
  const wasm = readFileSync(wasmFile);
  const deflated = Buffer.from(embedded, 'base64');
  console.log(
    `  of which the default wasm build: ${kB(wasm.length)}, deflated to ${kB(deflated.length)}, ` +
      `as base64 ${kB(embedded.length)}, gzipped ${kB(gz(Buffer.from(embedded)))}`,
  );
}
for (const c of chunks.filter((c) => c.isDynamicEntry)) {
  const b = Buffer.from(c.code);
  console.log(`  loaded only on demand: dist/browser/${c.fileName}, minified ${kB(b.length)}, gzipped ${kB(gz(b))}`);
}
