/**
 * Threads, page side: the 1…N choice (N = the browser's logical processors) and the count the model
 * really trains on, with the reason when it is fewer. The choice is offered once the worker reports
 * that the library takes a `threads` option (threads.ts); until then it stays at 1, disabled.
 */
import type { ThreadsInfo } from './threads.js';

export class ThreadsControl {
  readonly #select: HTMLSelectElement;
  readonly #shown: HTMLElement;
  readonly #note: HTMLElement;
  readonly #preferred: string;
  #option = false;

  /** `preferred`: the initial choice once it is offered ('max': all logical processors). */
  constructor(select: HTMLSelectElement, shown: HTMLElement, note: HTMLElement, preferred: number | 'max') {
    this.#select = select;
    this.#shown = shown;
    this.#note = note;
    const max = Math.max(1, navigator.hardwareConcurrency || 1);
    for (let n = 1; n <= max; n++) select.add(new Option(String(n), String(n)));
    this.#preferred = String(preferred === 'max' ? max : Math.min(preferred, max));
    this.#apply();
  }

  /** The threads to ask for. */
  get value(): number {
    return this.#option ? Number(this.#select.value) : 1;
  }

  /** Whether the select may be enabled (the form enables it with the other inputs). */
  get available(): boolean {
    return this.#option;
  }

  /** What the worker said: whether the option exists, and what the current model got. */
  report(info: ThreadsInfo | { option: boolean }): void {
    this.#option = info.option;
    this.#apply();
    if ('threads' in info) {
      this.#shown.textContent = String(info.threads);
      this.#note.textContent = this.#hint(info.reason);
    }
  }

  #apply(): void {
    this.#select.disabled = !this.#option;
    if (this.#option) {
      if (this.#select.dataset.offered !== 'yes') this.#select.value = this.#preferred;
      this.#select.dataset.offered = 'yes';
    } else {
      this.#select.value = '1';
      this.#note.textContent = this.#hint('this version of simdnet trains on one thread');
    }
  }

  #hint(reason: string): string {
    const isolation = crossOriginIsolated ? '' : 'The page is not cross-origin isolated (no COOP/COEP headers), so it cannot share memory between threads.';
    const sentence = reason.replace(/\.$/, '');
    return [sentence && `${sentence[0].toUpperCase()}${sentence.slice(1)}.`, isolation].filter(Boolean).join(' ');
  }
}
