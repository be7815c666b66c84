/**
 * The training chart of both pages, drawn by uPlot: loss on the left axis (linear from zero, or
 * logarithmic), accuracy on the right (0–100%), against epochs. Every point given is kept: uPlot
 * draws a line through one pixel column as that column's minimum and maximum, so a one-batch spike
 * stays visible however many points share the column. A tooltip gives the values under the cursor.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesSpec {
  label: string;
  scale: 'loss' | 'acc';
  stroke: string;
  /** Points joined by a thin line, for a series measured now and then (the test accuracy per epoch). */
  sparse?: boolean;
}

const AXIS_TEXT = '#3a4250';
const GRID = '#e3e6eb';

const percent = (v: number) => `${(100 * v).toFixed(v >= 0.9995 || v === 0 ? 0 : 1)}%`;

/** A loss in the tooltip: three significant digits. */
function formatLoss(v: number): string {
  if (v === 0) return '0';
  return v >= 0.01 && v < 1000 ? v.toPrecision(3) : v.toExponential(2);
}

/** A tick of the loss axis: as short as it can be (0.25, 2, 1e-4). */
function lossTick(v: number | null): string {
  if (v === null) return '';
  if (v === 0) return '0';
  return v >= 1e-3 && v < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(0);
}

/** On a log axis, ticks and grid lines at the powers of ten only. */
function decades(_u: uPlot, _axis: number, min: number, max: number): number[] {
  const out: number[] = [];
  for (let p = Math.floor(Math.log10(min)); p <= Math.ceil(Math.log10(max)); p++) {
    const v = 10 ** p;
    if (v >= min * 0.999 && v <= max * 1.001) out.push(v);
  }
  return out;
}

export class TrainingChart {
  readonly #container: HTMLElement;
  readonly #specs: SeriesSpec[];
  readonly #height: number;
  /** Column 0 holds the x values (epochs), then one column per series; null where not measured. */
  readonly #data: (number | null)[][];
  #plot: uPlot | null = null;
  #log = false;
  #drawQueued = false;
  readonly #tooltip: HTMLDivElement;

  constructor(container: HTMLElement, specs: SeriesSpec[], height = 240) {
    this.#container = container;
    this.#specs = specs;
    this.#height = height;
    this.#data = [[], ...specs.map(() => [])];
    this.#tooltip = Object.assign(document.createElement('div'), { className: 'chart-tooltip', hidden: true });
    this.#create();
    new ResizeObserver(() => this.#plot?.setSize({ width: this.#width(), height: this.#height })).observe(container);
  }

  /** Adds points at the end: xs[i] with values[s][i] for series s (null: not measured at that x). */
  append(xs: number[], values: (number | null)[][]): void {
    this.#data[0].push(...xs);
    this.#specs.forEach((_, s) => {
      const column = values[s] ?? [];
      for (let i = 0; i < xs.length; i++) this.#data[s + 1].push(column[i] ?? null);
    });
    this.#queueDraw();
  }

  /** Sets the value of series s at the last x (the test accuracy measured at the end of an epoch). */
  setLast(s: number, value: number): void {
    const column = this.#data[s + 1];
    if (column.length > 0) column[column.length - 1] = value;
    this.#queueDraw();
  }

  get lastX(): number {
    return (this.#data[0].at(-1) as number | undefined) ?? 0;
  }

  get length(): number {
    return this.#data[0].length;
  }

  clear(): void {
    for (const column of this.#data) column.length = 0;
    this.#queueDraw();
  }

  /** Logarithmic loss axis on or off (the chart is built anew with the same data). */
  set logScale(on: boolean) {
    if (on === this.#log) return;
    this.#log = on;
    this.#plot?.destroy();
    this.#create();
  }

  #width(): number {
    return Math.max(200, this.#container.clientWidth);
  }

  #queueDraw(): void {
    if (this.#drawQueued) return;
    this.#drawQueued = true;
    requestAnimationFrame(() => {
      this.#drawQueued = false;
      this.#plot?.setData(this.#plotData());
      // What is drawn, for tests and for anyone inspecting the page.
      this.#container.dataset.points = String(this.length);
      this.#container.dataset.lastX = String(this.lastX);
    });
  }

  /** On a log axis a loss of exactly 0 has no place: it is left out (nothing else is). */
  #plotData(): uPlot.AlignedData {
    if (!this.#log) return this.#data as uPlot.AlignedData;
    return this.#data.map((column, c) =>
      c > 0 && this.#specs[c - 1].scale === 'loss' ? column.map((v) => (v !== null && v > 0 ? v : null)) : column,
    ) as uPlot.AlignedData;
  }

  #create(): void {
    const opts: uPlot.Options = {
      width: this.#width(),
      height: this.#height,
      scales: {
        x: { time: false, range: (_u, min, max) => [0, Math.max(max ?? 1, min ?? 0, 1)] },
        loss: this.#log
          ? { distr: 3, range: (_u, min, max) => (min === null || max === null ? [0.01, 10] : uPlot.rangeLog(min, max, 10, true)) }
          : { range: (_u, _min, max) => [0, max === null || !(max > 0) ? 1 : max * 1.05] },
        acc: { range: [0, 1] },
      },
      axes: [
        { label: 'epoch', stroke: AXIS_TEXT, grid: { stroke: GRID } },
        {
          scale: 'loss', label: this.#log ? 'loss (log scale)' : 'loss', stroke: AXIS_TEXT, grid: { stroke: GRID },
          values: (_u, splits) => splits.map(lossTick), size: 56,
          ...(this.#log ? { splits: decades } : {}),
        },
        { scale: 'acc', label: 'accuracy', side: 1, stroke: AXIS_TEXT, grid: { show: false }, values: (_u, splits) => splits.map((v) => (v === null ? '' : percent(v))), size: 56 },
      ],
      series: [
        { label: 'epoch' },
        ...this.#specs.map<uPlot.Series>((spec) => ({
          label: spec.label,
          scale: spec.scale,
          stroke: spec.stroke,
          width: 1.5,
          spanGaps: spec.sparse ?? false,
          points: spec.sparse ? { show: true, size: 6, fill: spec.stroke } : { show: false },
          value: (_u, v) => (v === null ? '–' : spec.scale === 'acc' ? percent(v) : formatLoss(v)),
        })),
      ],
      legend: { live: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      hooks: { setCursor: [(u) => this.#showTooltip(u)] },
    };
    this.#plot = new uPlot(opts, this.#plotData(), this.#container);
    this.#plot.over.append(this.#tooltip);
  }

  /** The x and every series' value at the cursor, beside it. */
  #showTooltip(u: uPlot): void {
    const { idx, left, top } = u.cursor;
    if (idx === null || idx === undefined || left === undefined || left < 0 || top === undefined) {
      this.#tooltip.hidden = true;
      return;
    }
    const x = this.#data[0][idx] ?? 0;
    const rows = [`<b>epoch ${Number.isInteger(x) ? x : x.toFixed(2)}</b>`];
    this.#specs.forEach((spec, s) => {
      const v = this.#data[s + 1][idx];
      if (v !== null && v !== undefined) {
        rows.push(`<span style="color:${spec.stroke}">■</span> ${spec.label}: ${spec.scale === 'acc' ? percent(v) : formatLoss(v)}`);
      }
    });
    this.#tooltip.innerHTML = rows.join('<br>');
    this.#tooltip.hidden = false;
    const flip = left > u.over.clientWidth / 2;
    this.#tooltip.style.left = flip ? '' : `${left + 12}px`;
    this.#tooltip.style.right = flip ? `${u.over.clientWidth - left + 12}px` : '';
    this.#tooltip.style.top = `${Math.max(0, top - 10)}px`;
  }
}
