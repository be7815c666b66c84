/**
 * Threads, worker side: whether this version of simdnet takes a `threads` option, the option added
 * to a model's config when it does, and how many threads a model got. Written against the option as
 * planned (`sequential({ threads })`, `model.threads`, `model.threadsReason`) and feature-detected,
 * so the pages offer the choice as soon as the library has it and show 1 thread until then.
 */
import { dense, sequential, type Sequential, type SequentialConfig } from 'simdnet';

export interface ThreadsInfo {
  /** Whether the library takes a `threads` option. */
  option: boolean;
  /** Threads the model trains on. */
  threads: number;
  /** Why it got fewer than asked, or why there is no choice; empty when there is nothing to say. */
  reason: string;
}

type Threaded = Sequential & { threads?: number; threadsReason?: string };

let supported: Promise<boolean> | undefined;

/** A model built without the option has a `threads` member when the library knows the option. */
export function threadsSupported(): Promise<boolean> {
  return (supported ??= (async () => {
    const probe = await sequential({ layers: [dense({ units: 1, inputShape: [1] })] });
    try {
      return 'threads' in probe;
    } finally {
      probe.dispose();
    }
  })());
}

/** `config` with `threads` when the library takes it (sequential() refuses keys it does not know). */
export async function withThreads(config: SequentialConfig, threads: number): Promise<SequentialConfig> {
  return (await threadsSupported()) ? { ...config, threads } : config;
}

export async function threadsOf(model: Sequential): Promise<ThreadsInfo> {
  const option = await threadsSupported();
  const { threads, threadsReason } = model as Threaded;
  return {
    option,
    threads: typeof threads === 'number' ? threads : 1,
    reason: option ? (threadsReason ?? '') : 'this version of simdnet trains on one thread',
  };
}
