/**
 * The bump allocator both backends run over their linear memory: 16-byte aligned blocks handed out
 * from a top that only `release` moves down (stack discipline: a fit or a predict marks the top,
 * allocates its buffers, and releases to the mark when done). The memory plan
 * (docs/ARCHITECTURE.md, "The memory plan") lays out every buffer this way; nothing is freed singly.
 */
import type { Ptr } from './backend.js';

/** The linear memory under the allocator: wasm memory, or the js backend's ArrayBuffer. */
export interface GrowableMemory {
  /** Bytes available now. */
  readonly byteLength: number;
  /** Grows to at least `bytes` (old views go stale); throws a RangeError when it cannot. */
  growTo(bytes: number): void;
  /** Zero-fills the bytes [from, to); both are multiples of 4. */
  zero(from: number, to: number): void;
}

export const ALIGN = 16;

export const alignUp = (bytes: number): number => Math.ceil(bytes / ALIGN) * ALIGN;

export class BumpAllocator {
  /** Next free byte (16-aligned); everything below is allocated. */
  #top: number;
  /** Highest top ever reached: memory above it has never been handed out, so it is still zero. */
  #highWater: number;
  /** The lowest mark `release` accepts: below it sit blocks kept for the backend's lifetime. */
  #floor: number;

  constructor(
    private readonly memory: GrowableMemory,
    base: number,
    private readonly maxBytes: number = Number.MAX_SAFE_INTEGER,
    private readonly memoryName: string = 'memory',
  ) {
    this.#top = alignUp(base);
    this.#highWater = this.#top;
    this.#floor = this.#top;
  }

  /**
   * Reserves `count` 4-byte elements, zero-filled (with `zero` false, only the alignment padding
   * after them is: the caller writes them all); grows the memory as needed.
   */
  alloc(count: number, zero = true): Ptr {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`alloc: count must be a non-negative integer, got ${count}`);
    }
    const ptr = this.#top;
    const next = alignUp(ptr + count * 4);
    if (next > this.maxBytes) {
      throw new RangeError(`alloc: ${count} floats do not fit in ${this.memoryName} (${ptr} bytes already in use)`);
    }
    if (next > this.memory.byteLength) this.memory.growTo(next);
    // Released memory handed out again may hold old values; memory above the high-water mark is zero.
    const dirtyEnd = Math.min(next, this.#highWater);
    const from = zero ? ptr : ptr + count * 4;
    if (from < dirtyEnd) this.memory.zero(from, dirtyEnd);
    this.#top = next;
    if (next > this.#highWater) this.#highWater = next;
    return ptr;
  }

  /** The allocation top, for a later `release`. */
  mark(): number {
    return this.#top;
  }

  /** Frees everything allocated after `mark`. */
  release(mark: number): void {
    if (!Number.isInteger(mark) || mark % ALIGN !== 0 || mark < this.#floor || mark > this.#top) {
      throw new RangeError(`release: mark must be a value returned by mark() (${this.#floor}..${this.#top}), got ${mark}`);
    }
    this.#top = mark;
  }

  /** Makes the blocks allocated so far permanent (the kernels' scratch): release stops above them. */
  keepAllocated(): void {
    this.#floor = this.#top;
  }
}
