/**
 * The implementations measured in one run: simdnet's JS backend (the baseline), its SIMD wasm
 * backend on one thread and on two, the relaxed-SIMD flavour when there is one, and the TF.js
 * peers that could be loaded.
 */
import type { Backend } from '../src/backend/index.js';
import type { Peer } from './peers.js';

export interface Contenders {
  js: Backend;
  wasm: Backend;
  /** The relaxed-SIMD (FMA) wasm backend, when available. */
  relaxed?: Backend;
  /** The wasm backend on two threads ('wasm-2t'), when threads can start here. */
  threaded?: Backend;
  peers: Peer[];
}

/** simdnet's kernel backends, baseline first: [impl name, backend]. */
export function kernelBackends(c: Contenders): Array<[string, Backend]> {
  const list: Array<[string, Backend]> = [['js', c.js], ['wasm', c.wasm]];
  if (c.threaded) list.push(['wasm-2t', c.threaded]);
  if (c.relaxed) list.push(['wasm-relaxed', c.relaxed]);
  return list;
}

/** Copies data into a fresh allocation on b; returns its byte pointer. */
export function upload(b: Backend, data: ArrayLike<number>): number {
  const ptr = b.alloc(data.length);
  b.f32.set(data, ptr >> 2); // the view is read after alloc: memory may have grown
  return ptr;
}

export function read(b: Backend, ptr: number, n: number): Float32Array {
  return b.f32.slice(ptr >> 2, (ptr >> 2) + n);
}
