// The demo imports 'simdnet' from the library's source, so it runs without a prior build and
// picks up changes live. An app using the published package needs no config at all.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  resolve: {
    alias: { simdnet: fileURLToPath(new URL('../../src/index.ts', import.meta.url)) },
  },
  // Module workers, so the worker can import the library like any module.
  worker: { format: 'es' },
  // Pre-bundled at start-up: found later (through the worker), it would make Vite reload the page.
  optimizeDeps: { include: ['@assemblyscript/loader'] },
  server: { host: 'localhost', port: 5173 },
});
