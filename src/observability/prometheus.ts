// A dependency-free Prometheus registry: counters, gauges and histograms with
// fixed label names, rendered in the text exposition format 0.0.4 (HELP/TYPE
// lines, escaped label values, metrics sorted by name and series by labels).

import { OutpostError } from '../core/errors.js';

/** One value per label name; the names are fixed when the metric is made. */
export type LabelValues<L extends string> = { readonly [K in L]: string };

export interface MetricOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds of the buckets, ascending and finite; `+Inf` is added. */
  readonly buckets: readonly number[];
}

export interface GaugeOptions<L extends string> extends MetricOptions<L> {
  /** Evaluated at every scrape, before rendering; sets the gauge's values (e.g. from the spool). */
  readonly collect?: (gauge: Gauge<L>) => void | Promise<void>;
}

/** The Content-Type of `Registry.render()` output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Series<S> {
  readonly labelText: string;
  readonly state: S;
}

/** A named family of series keyed by label values; subclasses say what one series holds and how it renders. */
abstract class Family<L extends string, S> {
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  private readonly series = new Map<string, Series<S>>();
  /**
   * The series of a family with no label or one label, by that label's raw value (or ''), so a
   * hot `inc` does not build and escape the label text again.
   */
  private readonly byRawValue = new Map<string, Series<S>>();

  constructor(options: MetricOptions<L>, reservedLabels: readonly string[] = []) {
    if (!METRIC_NAME.test(options.name)) throw new OutpostError('EMETRIC', `invalid metric name ${JSON.stringify(options.name)}`);
    const labelNames = options.labelNames ?? [];
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__') || reservedLabels.includes(label)) {
        throw new OutpostError('EMETRIC', `${options.name}: invalid label name ${JSON.stringify(label)}`);
      }
    }
    if (new Set(labelNames).size !== labelNames.length) throw new OutpostError('EMETRIC', `${options.name}: duplicate label name`);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = [...labelNames];
  }

  /** Creates the series if missing, so it is exported before its first event. */
  touch(labels: LabelValues<L>): void {
    this.seriesFor(labels);
  }

  /** Drops every series (e.g. before a collector sets the ones that exist now). */
  clear(): void {
    this.series.clear();
    this.byRawValue.clear();
  }

  /** HELP, TYPE and the sample lines, each ending in `\n`. */
  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    const sorted = [...this.series.values()].sort((a, b) => (a.labelText < b.labelText ? -1 : a.labelText > b.labelText ? 1 : 0));
    for (const { labelText, state } of sorted) lines.push(...this.sampleLines(labelText, state));
    return `${lines.join('\n')}\n`;
  }

  protected abstract newState(): S;

  /** The sample lines of one series; `labelText` is `{a="x"}` or ''. */
  protected abstract sampleLines(labelText: string, state: S): string[];

  protected existing(labels: LabelValues<L>): S | undefined {
    return (this.cached(labels) ?? this.series.get(this.labelText(labels)))?.state;
  }

  protected seriesFor(labels: LabelValues<L>): S {
    const cached = this.cached(labels);
    if (cached !== undefined) return cached.state;
    const labelText = this.labelText(labels);
    let series = this.series.get(labelText);
    if (series === undefined) {
      series = { labelText, state: this.newState() };
      this.series.set(labelText, series);
    }
    if (this.labelNames.length <= 1) this.byRawValue.set(this.rawValue(labels) as string, series);
    return series.state;
  }

  /** The series already seen for these labels when the family has at most one label and they name only it. */
  private cached(labels: LabelValues<L>): Series<S> | undefined {
    if (this.labelNames.length > 1) return undefined;
    const value = this.rawValue(labels);
    if (value === undefined) return undefined;
    let count = 0;
    for (const key in labels) if (Object.hasOwn(labels, key)) count += 1;
    return count === this.labelNames.length ? this.byRawValue.get(value) : undefined;
  }

  /** The one label's value, '' without labels, undefined when it is not a string (labelText then throws). */
  private rawValue(labels: LabelValues<L>): string | undefined {
    const name = this.labelNames[0];
    if (name === undefined) return '';
    const value = (labels as Readonly<Record<string, unknown>>)[name];
    return typeof value === 'string' ? value : undefined;
  }

  /** `{a="x",b="y"}` in label-name order; '' without labels. Throws on missing or unknown labels (a bug). */
  private labelText(labels: LabelValues<L>): string {
    const given = labels as Readonly<Record<string, unknown>>;
    const keys = Object.keys(given);
    const pairs = this.labelNames.map((label) => {
      const value = given[label];
      if (typeof value !== 'string') throw new OutpostError('EMETRIC', `${this.name}: label ${label} needs a string value`);
      return `${label}="${escapeLabelValue(value)}"`;
    });
    if (keys.length !== this.labelNames.length) {
      throw new OutpostError('EMETRIC', `${this.name}: labels are ${this.labelNames.join(', ') || '(none)'}, got ${keys.join(', ') || '(none)'}`);
    }
    return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
  }
}

/** One number per series; an unlabeled metric is exported at 0 from the start. */
abstract class Metric<L extends string> extends Family<L, { value: number }> {
  abstract override readonly type: 'counter' | 'gauge';

  constructor(options: MetricOptions<L>) {
    super(options);
    if (this.labelNames.length === 0) this.touch({} as LabelValues<L>);
  }

  /** The current value of one series (0 when it was never touched). */
  get(labels: LabelValues<L>): number {
    return this.existing(labels)?.value ?? 0;
  }

  protected newState(): { value: number } {
    return { value: 0 };
  }

  protected sampleLines(labelText: string, state: { value: number }): string[] {
    return [`${this.name}${labelText} ${formatSampleValue(state.value)}`];
  }
}

/** A value that only goes up (events so far); resets only when the process restarts. */
export class Counter<L extends string = never> extends Metric<L> {
  readonly type = 'counter';

  inc(labels: LabelValues<L>, by = 1): void {
    if (!Number.isFinite(by) || by < 0) throw new OutpostError('EMETRIC', `${this.name}: a counter only goes up by a finite amount, got ${by}`);
    this.seriesFor(labels).value += by;
  }

  /**
   * Sets a total counted elsewhere (e.g. the kernel's CPU time of this process). A total lower
   * than the current value is ignored: a counter never goes down while the process lives.
   */
  setTotal(labels: LabelValues<L>, total: number): void {
    if (!Number.isFinite(total)) throw new OutpostError('EMETRIC', `${this.name}: a counter total must be finite, got ${total}`);
    const series = this.seriesFor(labels);
    series.value = Math.max(series.value, total);
  }
}

interface HistogramState {
  /** Observations per bucket (not cumulative), one more than `buckets` for +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/**
 * Observations counted into cumulative buckets: `<name>_bucket{le="…"}` for each bound and `+Inf`,
 * `<name>_sum` and `<name>_count` per label set.
 */
export class Histogram<L extends string = never> extends Family<L, HistogramState> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(options: HistogramOptions<L>) {
    super(options, ['le']);
    const buckets = [...options.buckets];
    if (buckets.length === 0 || buckets.some((bound, index) => !Number.isFinite(bound) || (index > 0 && bound <= (buckets[index - 1] ?? -Infinity)))) {
      throw new OutpostError('EMETRIC', `${options.name}: buckets must be finite and ascending`);
    }
    this.buckets = buckets;
    if (this.labelNames.length === 0) this.touch({} as LabelValues<L>);
  }

  observe(labels: LabelValues<L>, value: number): void {
    if (Number.isNaN(value)) throw new OutpostError('EMETRIC', `${this.name}: cannot observe NaN`);
    const state = this.seriesFor(labels);
    const index = this.buckets.findIndex((bound) => value <= bound);
    const slot = index === -1 ? this.buckets.length : index;
    state.counts[slot] = (state.counts[slot] ?? 0) + 1;
    state.sum += value;
    state.count += 1;
  }

  /** Count and sum of one series (zeros when never touched). */
  get(labels: LabelValues<L>): { readonly count: number; readonly sum: number } {
    const state = this.existing(labels);
    return { count: state?.count ?? 0, sum: state?.sum ?? 0 };
  }

  protected newState(): HistogramState {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  protected sampleLines(labelText: string, state: HistogramState): string[] {
    const withLe = (bound: string): string => (labelText === '' ? `{le="${bound}"}` : `${labelText.slice(0, -1)},le="${bound}"}`);
    const lines: string[] = [];
    let cumulative = 0;
    this.buckets.forEach((bound, index) => {
      cumulative += state.counts[index] ?? 0;
      lines.push(`${this.name}_bucket${withLe(formatSampleValue(bound))} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket${withLe('+Inf')} ${state.count}`);
    lines.push(`${this.name}_sum${labelText} ${formatSampleValue(state.sum)}`);
    lines.push(`${this.name}_count${labelText} ${state.count}`);
    return lines;
  }
}

/** A value that goes up and down, set directly or by a collect callback at scrape time. */
export class Gauge<L extends string = never> extends Metric<L> {
  readonly type = 'gauge';
  readonly collect: (() => void | Promise<void>) | undefined;

  constructor(options: GaugeOptions<L>) {
    super(options);
    const collect = options.collect;
    this.collect = collect === undefined ? undefined : () => collect(this);
  }

  set(labels: LabelValues<L>, value: number): void {
    this.seriesFor(labels).value = value;
  }

  inc(labels: LabelValues<L>, by = 1): void {
    this.seriesFor(labels).value += by;
  }

  dec(labels: LabelValues<L>, by = 1): void {
    this.seriesFor(labels).value -= by;
  }
}

/** Holds the metrics of one process; no global default registry. */
export class Registry {
  private readonly metrics = new Map<string, { readonly name: string; render(): string }>();
  private readonly collectors: (() => void | Promise<void>)[] = [];

  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    return this.register(new Counter<L>(options));
  }

  gauge<L extends string = never>(options: GaugeOptions<L>): Gauge<L> {
    const gauge = this.register(new Gauge<L>(options));
    if (gauge.collect !== undefined) this.collectors.push(gauge.collect);
    return gauge;
  }

  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    return this.register(new Histogram<L>(options));
  }

  /** Runs before every render, in the order added; for one source feeding several gauges. */
  addCollector(collect: () => void | Promise<void>): void {
    this.collectors.push(collect);
  }

  /** Runs the collectors, then renders every metric sorted by name. A collector's error rejects the render. */
  async render(): Promise<string> {
    for (const collect of this.collectors) await collect();
    const names = [...this.metrics.keys()].sort();
    return names.map((name) => this.metrics.get(name)?.render() ?? '').join('');
  }

  private register<M extends { readonly name: string; render(): string }>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new OutpostError('EMETRIC', `metric ${metric.name} is already registered`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}

/** Label values escape backslash, double quote and line feed (exposition format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (char) => (char === '\\' ? '\\\\' : char === '"' ? '\\"' : '\\n'));
}

/** HELP text escapes backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (char) => (char === '\\' ? '\\\\' : '\\n'));
}

/** Go ParseFloat-compatible: integers as digits, `+Inf`, `-Inf`, `NaN`. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
