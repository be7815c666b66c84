#!/usr/bin/env node
// What simdnet adds to a web page: the whole library (every export kept, the embedded wasm and
// @assemblyscript/loader included) bundled for the browser by Vite, minified, then gzipped.
// Usage: npm run size   (needs the generated wasm module: npm run build:wasm)
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const repo = fileURLToPath(new URL('..', import.meta.url));
const source = join(repo, 'src/index.ts');
const wasmFile = join(repo, 'build/simdnet.wasm');

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kB = (n) => `${(n / 1024).toFixed(1)} kB`;

// An app entry that uses every export, so tree-shaking keeps the whole library: an upper bound.
const dir = mkdtempSync(join(tmpdir(), 'simdnet-size-'));
try {
  const entry = join(dir, 'entry.js');
  writeFileSync(entry, `import * as simdnet from ${JSON.stringify(source)};\nglobalThis.simdnet = simdnet;\n`);
  // Vite only warns about a Node built-in and bundles an empty stub for it: catch it here instead.
  const builtins = [];
  const recordBuiltins = {
    name: 'record-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      if (isBuiltin(source)) builtins.push(`${source} (imported by ${importer})`);
      return null;
    },
  };
  const result = await build({
    configFile: false,
    root: dir,
    logLevel: 'error',
    plugins: [recordBuiltins],
    build: { write: false, minify: true, target: 'es2022', rollupOptions: { input: entry } },
  });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
  const chunks = outputs.filter((o) => o.type === 'chunk');
  const assets = outputs.filter((o) => o.type === 'asset' && !o.fileName.endsWith('.html'));
  if (assets.length) throw new Error(`expected a single self-contained script, got extra files: ${assets.map((a) => a.fileName).join(', ')}`);
  if (builtins.length) throw new Error(`the browser build imports Node built-ins: ${builtins.join(', ')}`);

  // What a page loads up front, and what only `relaxedSimd: true` fetches (a dynamic import).
  const lazy = chunks.filter((c) => c.isDynamicEntry);
  const eager = Buffer.from(chunks.filter((c) => !c.isDynamicEntry).map((c) => c.code).join('\n'));
  console.log(`browser build (JS with the wasm embedded), minified: ${kB(eager.length)}, gzipped: ${kB(gz(eager))}`);
  for (const c of lazy) {
    const b = Buffer.from(c.code);
    console.log(`  loaded only on demand: ${c.fileName}, minified ${kB(b.length)}, gzipped ${kB(gz(b))}`);
  }
  if (existsSync(wasmFile)) {
    const wasm = readFileSync(wasmFile);
    console.log(`  of which the wasm module alone: ${kB(wasm.length)} raw, ${kB(gz(wasm))} gzipped (base64 in the bundle)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
