#!/usr/bin/env node
// The source of the worker threads (THREAD_SOURCE in src/backend/threads/worker-source.ts) is a
// string, so no minifier touches it: left as written it is 5.9 kB in every build, comments and
// all. This minifies it where the builds are made: the browser bundle (scripts/bundle-browser.mjs
// applies minifyThreadSource to the module as it bundles it) and the tsc output of dist/ and
// dist/cjs/ (`node scripts/minify-thread-source.mjs DIR…`, run by build:ts and build:cjs).
// src/ keeps the readable text, which the tests run as is (test/threads.test.ts); the package and
// browser tests run the minified one.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { minifySync } from 'vite';

const DECLARATION = /(THREAD_SOURCE = )String\.raw ?`([^`]*)`/;

/** `code` (worker-source.ts or its compiled form) with THREAD_SOURCE's text minified; throws if it has none. */
export function minifyThreadSource(code, file = 'worker-source') {
  const match = DECLARATION.exec(code);
  if (!match) throw new Error(`${file}: no THREAD_SOURCE = String.raw\`…\` found to minify`);
  const source = match[2];
  if (source.includes('${')) throw new Error(`${file}: THREAD_SOURCE interpolates, so its text is not its value`);
  // A classic script, as the threads run it (eval'd in Node, a Blob URL in browsers): keeps 'use strict'.
  const result = minifySync('thread-source.js', source, { module: false, compress: { target: 'es2022' }, mangle: true });
  if (result.errors.length) throw new Error(`${file}: THREAD_SOURCE does not minify: ${result.errors.map((e) => e.message).join('; ')}`);
  return code.slice(0, match.index) + match[1] + JSON.stringify(result.code) + code.slice(match.index + match[0].length);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  for (const dir of process.argv.slice(2)) {
    const file = join(dir, 'backend/threads/worker-source.js');
    const code = readFileSync(file, 'utf8');
    const minified = minifyThreadSource(code, file);
    writeFileSync(file, minified);
    console.log(`minified the worker threads' source in ${file}: ${code.length} → ${minified.length} bytes`);
  }
}
