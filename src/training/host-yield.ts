/**
 * Letting the host run while fit trains. fit's steps are synchronous kernel calls; without a pause
 * timers, I/O, signal handlers and a page's events would wait for the whole fit. So fit yields to
 * the event loop after about YIELD_MS of work: between batches (and between the chunks of a
 * validation pass), never inside one. An awaited resolved promise is not enough: it runs as a
 * microtask, before any timer or I/O callback. A yield is a macrotask: `scheduler.yield()` where
 * the host has it (recent browsers), `setImmediate` in Node (after I/O and timers that are due),
 * else a MessageChannel message, else a zero-delay timer.
 */

/** Work between two yields. */
export const YIELD_MS = 20;
/** Reading the clock costs a call; it is read about this often, however short a batch. */
const CLOCK_MS = 2;
const MAX_STRIDE = 4096;

/**
 * Decides when fit yields. fit counts batches down from `stride` and calls `due()` when the count
 * runs out: only then is the clock read, and the stride adapts so that it is read about every
 * CLOCK_MS, however short a batch. Its fields only ever hold numbers and `due` returns a boolean,
 * so fit's unoptimized loop handles no double (docs/ARCHITECTURE.md, 'Number boxing').
 */
export class HostYield {
  /** Batches between two calls of due(). */
  stride = 1;
  #lastYield = 0;
  #lastRead = 0;

  /** Starts counting work from now (at the start of a fit, and after each yield). */
  restart(): void {
    const now = performance.now();
    this.#lastYield = now;
    this.#lastRead = now;
  }

  /** After `stride` batches: whether YIELD_MS of work have passed since the last yield. */
  due(): boolean {
    const now = performance.now();
    const sinceRead = now - this.#lastRead;
    this.#lastRead = now;
    if (sinceRead < CLOCK_MS / 2 && this.stride < MAX_STRIDE) this.stride *= 2;
    else if (sinceRead > 2 * CLOCK_MS && this.stride > 1) this.stride >>= 1;
    return now - this.#lastYield >= YIELD_MS;
  }
}

interface HostScheduler {
  yield?: () => Promise<void>;
}

/** Resolves once the host's event loop has had a turn (a macrotask later). */
export function yieldToHost(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: HostScheduler }).scheduler;
  if (typeof scheduler?.yield === 'function') return scheduler.yield();
  if (typeof setImmediate === 'function') return new Promise(immediately);
  if (typeof MessageChannel === 'function') return viaMessage();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** The executor of the setImmediate promise, made once: a yield allocates what it must and no more. */
const immediately = (resolve: () => void): void => {
  setImmediate(resolve);
};

let channel: MessageChannel | undefined;
const waiting: (() => void)[] = [];

/** A message posted to ourselves: delivered as a task, without the clamping of nested timers. */
function viaMessage(): Promise<void> {
  if (channel === undefined) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  const port = channel.port2;
  return new Promise((resolve) => {
    waiting.push(resolve);
    port.postMessage(null);
  });
}
