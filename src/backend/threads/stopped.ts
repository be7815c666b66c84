/**
 * The error a kernel call throws when a worker thread stopped. Apart from the rest of threads/ so
 * that training (src/training/fit.ts) can recognise it without loading the threads' code, which
 * src/backend/index.ts imports only when a backend with threads is asked for.
 */
import { SimdnetError } from '../../errors.js';

/** A kernel call failed because a worker thread stopped; the backend then runs on one thread. */
export class ThreadsStoppedError extends SimdnetError {
  constructor(message: string) {
    super('threads', `${message}; the model now runs on one thread`);
    this.name = 'ThreadsStoppedError';
  }
}
