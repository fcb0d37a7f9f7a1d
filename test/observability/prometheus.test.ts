// The dependency-free registry: exposition format 0.0.4 text, escaping,
// stable order, label checking and scrape-time collectors.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OutpostError } from '../../src/core/errors.js';
import { Registry, escapeHelp, escapeLabelValue, formatSampleValue } from '../../src/observability/prometheus.js';
import { parseExposition, sampleValue } from './exposition-parser.js';

describe('prometheus registry', () => {
  it('renders HELP and TYPE lines, an unlabeled counter at 0 and a trailing line feed', async () => {
    const registry = new Registry();
    registry.counter({ name: 'x_events_total', help: 'Events.' });
    assert.equal(await registry.render(), '# HELP x_events_total Events.\n# TYPE x_events_total counter\nx_events_total 0\n');
  });

  it('counts per label set and renders labels in label-name order', async () => {
    const registry = new Registry();
    const counter = registry.counter({ name: 'x_total', help: 'h', labelNames: ['b', 'a'] });
    counter.inc({ a: '1', b: '2' });
    counter.inc({ b: '2', a: '1' }, 2.5);
    counter.inc({ a: '0', b: '9' });
    assert.equal(counter.get({ a: '1', b: '2' }), 3.5);
    assert.equal(await registry.render(), '# HELP x_total h\n# TYPE x_total counter\nx_total{b="2",a="1"} 3.5\nx_total{b="9",a="0"} 1\n');
  });

  it('sorts metrics by name and series by labels whatever the registration or event order', async () => {
    const build = async (reverse: boolean): Promise<string> => {
      const registry = new Registry();
      const names = reverse ? ['b_total', 'a_total'] : ['a_total', 'b_total'];
      const counters = names.map((name) => registry.counter({ name, help: name, labelNames: ['k'] }));
      const values = reverse ? ['z', 'm', 'a'] : ['a', 'm', 'z'];
      for (const counter of counters) for (const k of values) counter.inc({ k });
      return registry.render();
    };
    const text = await build(false);
    assert.equal(await build(true), text);
    assert.deepEqual(text.split('\n').filter((line) => !line.startsWith('#') && line !== ''), [
      'a_total{k="a"} 1', 'a_total{k="m"} 1', 'a_total{k="z"} 1', 'b_total{k="a"} 1', 'b_total{k="m"} 1', 'b_total{k="z"} 1',
    ]);
  });

  it('escapes backslash, double quote and line feed in label values and backslash and line feed in HELP', async () => {
    const registry = new Registry();
    const counter = registry.counter({ name: 'x_total', help: 'line one\nback\\slash "quoted"', labelNames: ['reason'] });
    const nasty = 'a\\b"c\nd';
    counter.inc({ reason: nasty });
    const text = await registry.render();
    assert.ok(text.includes('x_total{reason="a\\\\b\\"c\\nd"} 1\n'), text);
    assert.ok(text.includes('# HELP x_total line one\\nback\\\\slash "quoted"\n'), text);
    const parsed = parseExposition(text);
    assert.equal(sampleValue(parsed, 'x_total', { reason: nasty }), 1);
    assert.equal(parsed.get('x_total')?.help, 'line one\nback\\slash "quoted"');
  });

  it('escapes by table', () => {
    const labelCases: [string, string][] = [['plain', 'plain'], ['\\', '\\\\'], ['"', '\\"'], ['\n', '\\n'], ['\r\t', '\r\t'], ['é✓', 'é✓']];
    for (const [input, output] of labelCases) assert.equal(escapeLabelValue(input), output, JSON.stringify(input));
    assert.equal(escapeHelp('a"b\\c\nd'), 'a"b\\\\c\\nd');
  });

  it('formats sample values the way Go parses them', () => {
    const cases: [number, string][] = [[0, '0'], [42, '42'], [1.5, '1.5'], [-3, '-3'], [NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'], [1e21, '1e+21']];
    for (const [value, text] of cases) assert.equal(formatSampleValue(value), text);
  });

  it('gauges set, go up and down, and collect at scrape time', async () => {
    const registry = new Registry();
    let reading = 7;
    const gauge = registry.gauge({ name: 'x_open', help: 'h' });
    gauge.inc({});
    gauge.inc({}, 4);
    gauge.dec({});
    assert.equal(gauge.get({}), 4);
    gauge.set({}, -2);
    assert.equal(sampleValue(parseExposition(await registry.render()), 'x_open'), -2);
    registry.gauge({ name: 'x_read', help: 'h', collect: async (self) => self.set({}, reading) });
    assert.equal(sampleValue(parseExposition(await registry.render()), 'x_read'), 7);
    reading = 9;
    assert.equal(sampleValue(parseExposition(await registry.render()), 'x_read'), 9);
  });

  it('touch exports a labeled series at 0 before its first event', async () => {
    const registry = new Registry();
    registry.counter({ name: 'x_total', help: 'h', labelNames: ['outcome'] }).touch({ outcome: 'failed' });
    assert.equal(sampleValue(parseExposition(await registry.render()), 'x_total', { outcome: 'failed' }), 0);
  });

  it('a failing collector rejects the render', async () => {
    const registry = new Registry();
    registry.addCollector(() => {
      throw new Error('disk gone');
    });
    await assert.rejects(registry.render(), /disk gone/);
  });

  it('refuses bugs: bad names, duplicate metrics, wrong labels, counters going down', () => {
    const registry = new Registry();
    const isMetricError = (error: unknown): boolean => error instanceof OutpostError && error.code === 'EMETRIC';
    assert.throws(() => registry.counter({ name: '1bad', help: 'h' }), isMetricError);
    assert.throws(() => registry.counter({ name: 'ok_total', help: 'h', labelNames: ['__reserved'] }), isMetricError);
    assert.throws(() => registry.counter({ name: 'ok_total', help: 'h', labelNames: ['a-b'] }), isMetricError);
    assert.throws(() => registry.counter({ name: 'ok_total', help: 'h', labelNames: ['a', 'a'] }), isMetricError);
    const counter = registry.counter({ name: 'ok_total', help: 'h', labelNames: ['a'] });
    assert.throws(() => registry.counter({ name: 'ok_total', help: 'h' }), isMetricError);
    assert.throws(() => counter.inc({ a: 'x' }, -1), isMetricError);
    assert.throws(() => counter.inc({ a: 'x' }, NaN), isMetricError);
    assert.throws(() => counter.inc({} as { a: string }), isMetricError);
    assert.throws(() => counter.inc({ a: 'x', b: 'y' } as { a: string }), isMetricError);
  });
  it('renders a histogram as cumulative buckets with +Inf, _sum and _count per label set', async () => {
    const registry = new Registry();
    const histogram = registry.histogram({ name: 'x_seconds', help: 'h', labelNames: ['kind'], buckets: [0.1, 1] });
    for (const value of [0.05, 0.1, 0.5, 3]) histogram.observe({ kind: 'a' }, value);
    histogram.touch({ kind: 'b' });
    assert.deepEqual(histogram.get({ kind: 'a' }), { count: 4, sum: 3.65 });
    const text = await registry.render();
    assert.deepEqual(text.split('\n').filter((line) => line.startsWith('x_seconds')), [
      'x_seconds_bucket{kind="a",le="0.1"} 2',
      'x_seconds_bucket{kind="a",le="1"} 3',
      'x_seconds_bucket{kind="a",le="+Inf"} 4',
      'x_seconds_sum{kind="a"} 3.65',
      'x_seconds_count{kind="a"} 4',
      'x_seconds_bucket{kind="b",le="0.1"} 0',
      'x_seconds_bucket{kind="b",le="1"} 0',
      'x_seconds_bucket{kind="b",le="+Inf"} 0',
      'x_seconds_sum{kind="b"} 0',
      'x_seconds_count{kind="b"} 0',
    ]);
    const families = parseExposition(text);
    assert.equal(families.get('x_seconds')?.type, 'histogram');
    assert.equal(sampleValue(families, 'x_seconds_bucket', { kind: 'a', le: '+Inf' }), 4);
  });

  it('an unlabeled histogram renders le as its only label', async () => {
    const registry = new Registry();
    registry.histogram({ name: 'y_seconds', help: 'h', buckets: [1] }).observe({}, 2);
    assert.match(await registry.render(), /^y_seconds_bucket\{le="1"\} 0\ny_seconds_bucket\{le="\+Inf"\} 1\ny_seconds_sum 2\ny_seconds_count 1\n$/m);
  });

  it('a counter set from an outside total never goes down; clear drops every series', async () => {
    const registry = new Registry();
    const counter = registry.counter({ name: 'cpu_seconds_total', help: 'h' });
    counter.setTotal({}, 2.5);
    counter.setTotal({}, 1);
    assert.equal(counter.get({}), 2.5);
    const gauge = registry.gauge({ name: 'things', help: 'h', labelNames: ['type'] });
    gauge.set({ type: 'a' }, 1);
    gauge.clear();
    gauge.set({ type: 'b' }, 2);
    const families = parseExposition(await registry.render());
    assert.deepEqual(families.get('things')?.samples.map((sample) => sample.labels), [{ type: 'b' }]);
  });

  it('refuses histogram bugs: unordered or infinite buckets, an le label, NaN', () => {
    const registry = new Registry();
    const isMetricError = (error: unknown): boolean => error instanceof OutpostError && error.code === 'EMETRIC';
    assert.throws(() => registry.histogram({ name: 'a_seconds', help: 'h', buckets: [1, 1] }), isMetricError);
    assert.throws(() => registry.histogram({ name: 'b_seconds', help: 'h', buckets: [1, Infinity] }), isMetricError);
    assert.throws(() => registry.histogram({ name: 'c_seconds', help: 'h', buckets: [] }), isMetricError);
    assert.throws(() => registry.histogram({ name: 'd_seconds', help: 'h', labelNames: ['le'], buckets: [1] }), isMetricError);
    assert.throws(() => registry.histogram({ name: 'e_seconds', help: 'h', buckets: [1] }).observe({}, NaN), isMetricError);
    assert.throws(() => registry.counter({ name: 'f_total', help: 'h' }).setTotal({}, Infinity), isMetricError);
  });
});
