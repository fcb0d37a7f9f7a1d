// The shipped monitoring files against the real exporter: contrib/prometheus/alerts.yml
// passes Debian's promtool (syntax and its unit tests), the Grafana dashboard is sane
// JSON whose queries promtool parses, and every metric name either file uses is one
// that a running `outpost serve` exports, with the label names its selectors use.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { makeInstallation, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { parseExposition, type Family } from '../observability/exposition-parser.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const ALERTS = join(REPO, 'contrib', 'prometheus', 'alerts.yml');
const ALERT_TESTS = join(REPO, 'contrib', 'prometheus', 'alerts.test.yml');
const DASHBOARD = join(REPO, 'contrib', 'grafana', 'outpost.json');

/** Series Prometheus makes itself for every target. */
const SCRAPE_SERIES = new Set(['up']);
/** Labels Prometheus attaches at scrape time. */
const TARGET_LABELS = new Set(['instance', 'job']);
const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

interface Selector {
  readonly metric: string;
  readonly labels: readonly string[];
}

/** The metric names of a PromQL expression, each with the label names its matchers use (not a full parser: enough for our files). */
function selectors(expr: string): Selector[] {
  const found: Selector[] = [];
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const match of text.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?(\s*\()?/g)) {
    const [, name = '', matchers, call] = match;
    if (call !== undefined || PROMQL_WORDS.has(name.toLowerCase())) continue;
    const labels = [...(matchers ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((label) => label[1] ?? '');
    found.push({ metric: name, labels });
  }
  return found;
}

/** Family name -> label names seen on its samples (`le` included for histogram buckets); sample names map to their family. */
function exportedLabels(families: Map<string, Family>): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  for (const [name, family] of families) {
    const labels = new Set(family.samples.flatMap((sample) => Object.keys(sample.labels)));
    names.set(name, labels);
    for (const sample of family.samples) names.set(sample.name, labels);
  }
  return names;
}

/** Problems with the selectors of `exprs` against the exported metrics (empty when all is well). */
function unknownSelectors(exprs: readonly string[], exported: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const expr of exprs) {
    for (const { metric, labels } of selectors(expr)) {
      if (SCRAPE_SERIES.has(metric)) continue;
      const labelNames = exported.get(metric);
      if (labelNames === undefined) {
        problems.push(`${metric} is not exported (in ${expr})`);
        continue;
      }
      for (const label of labels) if (!TARGET_LABELS.has(label) && !labelNames.has(label)) problems.push(`${metric} has no label ${label} (in ${expr})`);
    }
  }
  return problems;
}

interface RuleFile {
  groups: { name: string; rules: { alert?: string; expr: string }[] }[];
}

interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  datasource?: unknown;
  targets?: { expr?: unknown; refId?: unknown }[];
  gridPos?: { x: number; y: number; w: number; h: number };
}

async function alertExprs(): Promise<string[]> {
  const rules = parseYaml(await readFile(ALERTS, 'utf8')) as RuleFile;
  return rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
}

async function dashboard(): Promise<{ schemaVersion?: unknown; uid?: unknown; title?: unknown; panels: Panel[]; templating?: { list: { name: string }[] } }> {
  return JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Panel[] };
}

/** Grafana's variables replaced by values Prometheus accepts, so promtool can parse the query. */
function withoutGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*');
}

async function promtool(args: readonly string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', [...args], { timeout: 60_000 });
    return { ok: true, output: stdout + stderr };
  } catch (error: unknown) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failed.message}\n${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe('contrib/prometheus and contrib/grafana', () => {
  it('alerts.yml passes promtool check rules', async () => {
    const result = await promtool(['check', 'rules', ALERTS]);
    assert.ok(result.ok, result.output);
    assert.match(result.output, /SUCCESS: \d+ rules found/);
  });

  it('the alerts fire as alerts.test.yml expects (promtool test rules)', async () => {
    const result = await promtool(['test', 'rules', ALERT_TESTS]);
    assert.ok(result.ok, result.output);
    assert.match(result.output, /SUCCESS/);
  });

  it('covers what the issue asks: queue, oldest message, failure ratio, TLS policy, doctor, spool disk, process down', async () => {
    const exprs = (await alertExprs()).join('\n');
    for (const metric of ['outpost_queue_messages', 'outpost_queue_oldest_age_seconds', 'outpost_deliveries_total', 'outpost_tls_policy_failures_total', 'outpost_doctor_check', 'outpost_spool_free_bytes', 'up{job="outpost"}']) {
      assert.ok(exprs.includes(metric), metric);
    }
  });

  it('the dashboard is sane Grafana JSON: schema version, unique panel ids, every panel with a data source and queries', async () => {
    const board = await dashboard();
    assert.equal(typeof board.schemaVersion, 'number');
    assert.ok((board.schemaVersion as number) >= 36, 'a schema current Grafana versions import without migration');
    assert.equal(typeof board.uid, 'string');
    assert.equal(typeof board.title, 'string');
    assert.deepEqual(board.templating?.list.map((variable) => variable.name), ['datasource', 'instance']);
    const ids = board.panels.map((panel) => panel.id);
    assert.ok(ids.every((id) => Number.isInteger(id)));
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    const panels = board.panels.filter((panel) => panel.type !== 'row');
    assert.ok(panels.length >= 15, `${panels.length} panels`);
    for (const panel of panels) {
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, String(panel.title));
      assert.ok((panel.targets ?? []).length > 0, `${String(panel.title)} has queries`);
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${String(panel.title)} refIds are unique`);
      for (const target of panel.targets ?? []) assert.equal(typeof target.expr, 'string', String(panel.title));
      const grid = panel.gridPos;
      assert.ok(grid !== undefined && grid.x >= 0 && grid.w > 0 && grid.x + grid.w <= 24 && grid.h > 0, `${String(panel.title)} fits the 24-column grid`);
    }
    const titles = panels.map((panel) => String(panel.title)).join('\n');
    for (const topic of [/Accepted/, /Rejected/, /Queued messages/, /Oldest/, /by result/, /TLS/, /AUTH failures/, /CPU/, /Memory/, /Event-loop lag/]) assert.match(titles, topic);
  });

  it("promtool parses every dashboard query (as recording rules, Grafana's variables filled in)", async () => {
    const board = await dashboard();
    const rules = board.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ record: `dashboard:panel_${String(panel.id)}_${String(target.refId)}`, expr: withoutGrafanaVariables(String(target.expr)) })),
    );
    const dir = await mkdtemp(join(tmpdir(), 'outpost-dashboard-'));
    try {
      const file = join(dir, 'dashboard-rules.json');
      // JSON is YAML: promtool reads it as a rule file.
      await writeFile(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
      const result = await promtool(['check', 'rules', file]);
      assert.ok(result.ok, result.output);
      assert.match(result.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the PromQL name reader finds names and matcher labels, not functions, keywords or grouping labels', () => {
    assert.deepEqual(selectors('sum by (instance, policy) (increase(a_total{x="1", y=~"b|c"}[5m])) / on(instance) b_bytes > 2 * c and up{job="o"} == 0'), [
      { metric: 'a_total', labels: ['x', 'y'] },
      { metric: 'b_bytes', labels: [] },
      { metric: 'c', labels: [] },
      { metric: 'up', labels: ['job'] },
    ]);
  });

  describe('against the metrics of a running outpost serve', () => {
    let installation: TestInstallation;
    let serve: ServeProcess;
    let exported: Map<string, Set<string>>;
    before(async () => {
      installation = await makeInstallation();
      serve = await ServeProcess.start(installation.configFile);
      const http = await serve.waitForLog((line) => line['msg'] === 'http listening');
      // The doctor gauge exists once the first doctor run has reported (the test DNS fails some checks, logged first).
      await serve.waitForLog((line) => line['msg'] === 'dns doctor check not ok');
      const text = await (await fetch(`http://127.0.0.1:${String(http['port'])}/metrics`)).text();
      exported = exportedLabels(parseExposition(text));
    });
    after(async () => {
      serve.signal('SIGTERM');
      await serve.exit();
      await installation.remove();
    });

    it('exports every metric alerts.yml uses, with the labels its selectors match on', async () => {
      const exprs = await alertExprs();
      assert.ok(exprs.flatMap(selectors).length >= 15, 'the reader found the names');
      assert.deepEqual(unknownSelectors(exprs, exported), []);
    });

    it('exports every metric the dashboard queries, with the labels its selectors match on', async () => {
      const exprs = (await dashboard()).panels.flatMap((panel) => (panel.targets ?? []).map((target) => String(target.expr)));
      assert.ok(exprs.flatMap(selectors).length >= 30, 'the reader found the names');
      assert.deepEqual(unknownSelectors(exprs, exported), []);
    });

    it('exports the process metrics of prom-client next to its own', () => {
      for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_gc_duration_seconds_bucket', 'nodejs_heap_size_used_bytes', 'nodejs_version_info', 'outpost_spool_free_bytes', 'outpost_spool_min_free_bytes']) {
        assert.ok(exported.has(name), name);
      }
    });
  });
});
