// A dependency-free Prometheus registry: counters and gauges with fixed label
// names, rendered in the text exposition format 0.0.4 (HELP/TYPE lines,
// escaped label values, metrics sorted by name and series by labels).

import { OutpostError } from '../core/errors.js';

/** One value per label name; the names are fixed when the metric is made. */
export type LabelValues<L extends string> = { readonly [K in L]: string };

export interface MetricOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

export interface GaugeOptions<L extends string> extends MetricOptions<L> {
  /** Evaluated at every scrape, before rendering; sets the gauge's values (e.g. from the spool). */
  readonly collect?: (gauge: Gauge<L>) => void | Promise<void>;
}

/** The Content-Type of `Registry.render()` output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Series {
  readonly labelText: string;
  value: number;
}

abstract class Metric<L extends string> {
  abstract readonly type: 'counter' | 'gauge';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  private readonly series = new Map<string, Series>();

  constructor(options: MetricOptions<L>) {
    if (!METRIC_NAME.test(options.name)) throw new OutpostError('EMETRIC', `invalid metric name ${JSON.stringify(options.name)}`);
    const labelNames = options.labelNames ?? [];
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) {
        throw new OutpostError('EMETRIC', `${options.name}: invalid label name ${JSON.stringify(label)}`);
      }
    }
    if (new Set(labelNames).size !== labelNames.length) throw new OutpostError('EMETRIC', `${options.name}: duplicate label name`);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = [...labelNames];
    if (labelNames.length === 0) this.seriesFor({} as LabelValues<L>);
  }

  /** The current value of one series (0 when it was never touched). */
  get(labels: LabelValues<L>): number {
    return this.series.get(this.labelText(labels))?.value ?? 0;
  }

  /** Creates the series at 0 if missing, so it is exported before its first event. */
  touch(labels: LabelValues<L>): void {
    this.seriesFor(labels);
  }

  /** HELP, TYPE and one line per series, each ending in `\n`. */
  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    const sorted = [...this.series.values()].sort((a, b) => (a.labelText < b.labelText ? -1 : a.labelText > b.labelText ? 1 : 0));
    for (const { labelText, value } of sorted) lines.push(`${this.name}${labelText} ${formatSampleValue(value)}`);
    return `${lines.join('\n')}\n`;
  }

  protected seriesFor(labels: LabelValues<L>): Series {
    const labelText = this.labelText(labels);
    let series = this.series.get(labelText);
    if (series === undefined) {
      series = { labelText, value: 0 };
      this.series.set(labelText, series);
    }
    return series;
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

/** A value that only goes up (events so far); resets only when the process restarts. */
export class Counter<L extends string = never> extends Metric<L> {
  readonly type = 'counter';

  inc(labels: LabelValues<L>, by = 1): void {
    if (!Number.isFinite(by) || by < 0) throw new OutpostError('EMETRIC', `${this.name}: a counter only goes up by a finite amount, got ${by}`);
    this.seriesFor(labels).value += by;
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
  private readonly metrics = new Map<string, Metric<string>>();
  private readonly collectors: (() => void | Promise<void>)[] = [];

  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    return this.register(new Counter<L>(options));
  }

  gauge<L extends string = never>(options: GaugeOptions<L>): Gauge<L> {
    const gauge = this.register(new Gauge<L>(options));
    if (gauge.collect !== undefined) this.collectors.push(gauge.collect);
    return gauge;
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

  private register<M extends Metric<string>>(metric: M): M {
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
