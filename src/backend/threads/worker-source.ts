/**
 * The code of a model's worker threads, shipped inside the library as text: Node runs it with
 * `new Worker(source, { eval: true })`, browsers from a Blob URL, so no worker file has to be
 * found by the application or its bundler.
 *
 * Two roles run the same source. The supervisor is the thread the model starts; it starts the
 * kernel workers and watches them: a worker that dies (an uncaught error, out of memory, an exit)
 * is reported through the control block (protocol.ts) even while the calling thread sleeps in
 * Atomics.wait and could not see an 'exit' event. A kernel worker instantiates the shared build
 * over the model's memory, then loops: wait for a call in its slot, run it, mark it done.
 *
 * The source is plain JavaScript in a string rather than functions turned into text: tools that
 * transform the library's code (bundlers, tsx, coverage) may add helpers to a function that do
 * not exist in a worker. test/threads.test.ts runs it in Node and test/browser.test.ts in Chromium.
 */
import type { ControlLayout } from './protocol.js';

/** What a thread is started with (workerData in Node, the first message in browsers). */
export interface ThreadInit {
  role: 'supervisor' | 'worker';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  layout: ControlLayout;
  kernels: readonly string[];
  /** Kernel workers to start (supervisor), or this worker's index (worker). */
  workers: number;
  index: number;
  /** Atomics.load polls before a worker sleeps. */
  spin: number;
  /** This source, for the supervisor to start the workers with. */
  source: string;
  /**
   * Test hooks: the worker of index `failAt` (−1: none) fails at its first part, by throwing
   * ('throw') or by filling its heap until the engine stops it ('oom', with a small heap limit).
   */
  failAt: number;
  fault: 'throw' | 'oom';
  /** … at its first part of this kernel (an index into KERNEL_NAMES; −1: any). */
  faultKernel: number;
}

/** A started thread, as its parent sees it. */
export interface ChildThread {
  terminate(): void;
}

/**
 * The source a thread is started with. Entry point: adapt Node's worker_threads (the source runs
 * as an eval'd CommonJS script) or a browser worker (init arrives as the first message), then run
 * the role the init data names.
 */
export const THREAD_SOURCE = String.raw`'use strict';
(function main() {
  function run(platform, init) {
    if (init.role === 'supervisor') supervise(platform, init);
    else work(platform, init);
  }
  if (typeof process === 'object' && process !== null && typeof process.versions === 'object' && process.versions.node) {
    // Node: the source may run as a CommonJS or (with --input-type=module) an ES module script.
    import('node:worker_threads').then((threads) => run({
      post: (message) => threads.parentPort.postMessage(message),
      spawn(init, onMessage, onFailure) {
        const resourceLimits = init.fault === 'oom' && init.index === init.failAt ? { maxOldGenerationSizeMb: 16 } : undefined;
        const child = new threads.Worker(init.source, { eval: true, workerData: init, execArgv: [], resourceLimits });
        child.on('message', onMessage);
        child.on('error', (err) => onFailure(String(err && err.message || err)));
        child.on('exit', (code) => onFailure('it exited with code ' + code));
      },
    }, threads.workerData));
    return;
  }
  self.onmessage = (first) => {
    self.onmessage = null;
    run({
      post: (message) => self.postMessage(message),
      spawn(init, onMessage, onFailure) {
        const url = URL.createObjectURL(new Blob([init.source], { type: 'text/javascript' }));
        const child = new Worker(url);
        child.onmessage = (event) => { URL.revokeObjectURL(url); onMessage(event.data); };
        child.onerror = (event) => {
          event.preventDefault();
          URL.revokeObjectURL(url);
          onFailure(String(event.message || 'an error'));
        };
        child.postMessage(init);
      },
    }, first.data);
  };

  // The supervisor: starts the kernel workers, says 'ready' once all are, and turns the death of
  // one into FAILED plus a message in the control block, waking the caller wherever it waits.
  function supervise(platform, init) {
    const layout = init.layout;
    const i32 = new Int32Array(init.control);
    let ready = 0;
    const fail = (index, why) => {
      if (Atomics.load(i32, layout.stopping) !== 0) return; // the model is stopping its threads
      Atomics.store(i32, layout.slot0 + index * layout.slotInts + layout.dead, 1);
      Atomics.store(i32, layout.slot0 + index * layout.slotInts + layout.state, 0);
      if (Atomics.compareExchange(i32, layout.messageLength, 0, -1) === 0) {
        const text = ('worker thread ' + (index + 1) + ' stopped: ' + why).slice(0, layout.messageMax);
        for (let i = 0; i < text.length; i++) i32[layout.message + i] = text.charCodeAt(i);
        Atomics.store(i32, layout.messageLength, text.length);
        Atomics.store(i32, layout.failed, index + 1);
        platform.post({ type: 'failed', message: text });
      }
      Atomics.notify(i32, layout.done);
    };
    for (let index = 0; index < init.workers; index++) {
      const onMessage = (message) => {
        if (message === 'ready') {
          if (++ready === init.workers) platform.post({ type: 'ready' });
        } else fail(index, String(message && message.message));
      };
      platform.spawn(Object.assign({}, init, { role: 'worker', index }), onMessage, (why) => fail(index, why));
    }
  }

  // A kernel worker: instantiates the shared build over the model's memory, then claims and runs
  // parts of the calls the caller publishes (protocol.ts) until CLAIM reads −1.
  function work(platform, init) {
    const L = init.layout;
    const i32 = new Int32Array(init.control);
    const f64 = new Float64Array(init.control);
    const slot = L.slot0 + init.index * L.slotInts;
    let kernels;
    try {
      const exports = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports;
      kernels = init.kernels.map((name) => exports[name]);
    } catch (err) {
      platform.post({ type: 'error', message: 'could not start: ' + String(err && err.message || err) });
      return;
    }
    platform.post('ready');
    let spins = 0;
    for (;;) {
      const claim = Atomics.load(i32, L.claim);
      if (claim < 0) return;
      const part = claim & 63;
      const parts = (claim >> 6) & 63;
      if (part < parts) {
        // STATE goes up before the claim, so a caller that sees it clear knows this thread runs nothing.
        Atomics.store(i32, slot + L.state, 1);
        if (Atomics.compareExchange(i32, L.claim, claim, claim + 1) === claim) {
          if (init.index === init.failAt && (init.faultKernel < 0 || init.faultKernel === i32[L.kernel])) fault(init.fault);
          const a = (L.argsByte >> 3) + part * L.args;
          const kind = i32[L.scratchKind];
          if (kind !== 0) f64[a + i32[L.scratchArg]] = i32[slot + (kind === 1 ? L.scratch : L.tmp)];
          const result = kernels[i32[L.kernel]](f64[a], f64[a + 1], f64[a + 2], f64[a + 3], f64[a + 4], f64[a + 5], f64[a + 6],
            f64[a + 7], f64[a + 8], f64[a + 9], f64[a + 10], f64[a + 11], f64[a + 12], f64[a + 13]);
          if (result !== undefined) i32[L.results + part] = result;
          const done = Atomics.add(i32, L.done, 1) + 1;
          Atomics.store(i32, slot + L.state, 0);
          if (done === parts && Atomics.load(i32, L.waiting) !== 0) Atomics.notify(i32, L.done);
          spins = 0;
        } else {
          Atomics.store(i32, slot + L.state, 0);
        }
        continue;
      }
      if (++spins < init.spin) continue;
      // Nothing to claim for a while: sleep until the caller publishes a call (it notifies while SLEEPERS > 0).
      Atomics.add(i32, L.sleepers, 1);
      Atomics.wait(i32, L.claim, claim);
      Atomics.sub(i32, L.sleepers, 1);
      spins = 0;
    }
  }

  // Test hook: fail by throwing, or by filling the heap until the engine stops the thread.
  function fault(kind) {
    const hog = [];
    for (;;) {
      if (kind === 'throw') throw new Error('failing on purpose (test hook)');
      hog.push(new Array(1 << 20).fill(hog.length));
    }
  }
})();
`;
