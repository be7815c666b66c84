import { isBuiltin } from 'node:module';
import type { Plugin } from 'vite';

/**
 * A Vite plugin that records every import of a Node built-in. Vite itself only warns and swaps in
 * an empty stub, so the built bundle alone would not show the import.
 */
export function recordNodeBuiltins(found: string[]): Plugin {
  return {
    name: 'record-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      if (isBuiltin(source)) found.push(`${source} (imported by ${importer ?? '?'})`);
      return null;
    },
  };
}
