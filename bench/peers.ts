/**
 * TensorFlow.js as a peer, on its wasm backend (XNNPACK, SIMD build, one thread in Node) and on its
 * plain-JS cpu backend. Loaded on demand and each guarded: a peer that cannot be loaded is reported
 * and the suite goes on without it.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type TfCore = typeof import('@tensorflow/tfjs-core');
export type TfLayers = typeof import('@tensorflow/tfjs-layers');

export interface Peer {
  impl: 'tfjs-wasm' | 'tfjs-cpu';
  tf: TfCore;
  tfl: TfLayers;
  /** Makes this peer's backend TF.js's active one (the two share one tfjs-core). */
  use(): Promise<void>;
}

/** An error's message without this checkout's location, which means nothing in a shared report. */
const reason = (err: unknown): string => String((err as Error).message ?? err).split(process.cwd()).join('.');

export async function loadPeers(): Promise<{ peers: Peer[]; notes: string[] }> {
  const notes: string[] = [];
  let tf: TfCore;
  let tfl: TfLayers;
  try {
    tf = await import('@tensorflow/tfjs-core');
    tfl = await import('@tensorflow/tfjs-layers');
    // Production mode: skips TF.js's debug-time checks and its console notices, as a deployment would.
    tf.enableProdMode();
  } catch (err) {
    return { peers: [], notes: [`TF.js peers not measured: could not load @tensorflow/tfjs-core / -layers (${reason(err)})`] };
  }
  const peers: Peer[] = [];
  const use = (name: string) => async (): Promise<void> => {
    if (tf.getBackend() !== name && !(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
    await tf.ready();
  };

  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the backend reads its .wasm files from disk: point it at the package's dist folder.
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    await use('wasm')();
    notes.push(`tfjs-wasm: ${wasm.getThreadsCount()} thread(s), SIMD ${String(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))}`);
    peers.push({ impl: 'tfjs-wasm', tf, tfl, use: use('wasm') });
  } catch (err) {
    notes.push(`tfjs-wasm not measured: ${reason(err)}`);
  }
  try {
    await import('@tensorflow/tfjs-backend-cpu');
    await use('cpu')();
    peers.push({ impl: 'tfjs-cpu', tf, tfl, use: use('cpu') });
  } catch (err) {
    notes.push(`tfjs-cpu not measured: ${reason(err)}`);
  }

  return { peers, notes: [`TF.js ${tf.version_core}`, ...notes] };
}
