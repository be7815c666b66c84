import { it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { dense, sequential, type Sequential } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

it('scratch', async () => {
  const mem = () => { const m = process.memoryUsage(); return { rss: m.rss >> 20, ext: m.external >> 20, ab: m.arrayBuffers >> 20 }; };
  console.log(mem());
  const kept: Sequential[] = [];
  const refs: WeakRef<object>[] = [];
  for (let i = 0; i < 60; i++) {
    const model = await sequential({ layers: [dense({ units: 512, activation: 'relu', inputShape: [512] }), dense({ units: 512 })], backend: 'wasm' });
    refs.push(new WeakRef(model.backend));
    kept.push(model);
    model.dispose();
    if (i % 20 === 0) console.log(i, mem());
  }
  console.log('before gc', mem());
  gc(); await new Promise((r) => setTimeout(r, 10)); gc();
  console.log('after gc', mem(), refs.filter((r) => r.deref() !== undefined).length);
});
