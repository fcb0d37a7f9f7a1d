// The standard process and Node.js metrics, read from this test process itself:
// prom-client's names and types, plausible values, counters that never go down,
// GC pauses observed, and procfs readings that fail or are absent.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseMaxOpenFiles, parseProcStatus } from '../../src/observability/proc-self.js';
import { ProcessMetrics } from '../../src/observability/process-metrics.js';
import { Registry } from '../../src/observability/prometheus.js';
import { memoryLog } from '../helpers/memory-log.js';
import { parseExposition, sampleValue, type Family } from './exposition-parser.js';

const LINUX = process.platform === 'linux';

const COMMON: [string, 'counter' | 'gauge' | 'histogram'][] = [
  ['process_cpu_user_seconds_total', 'counter'],
  ['process_cpu_system_seconds_total', 'counter'],
  ['process_cpu_seconds_total', 'counter'],
  ['process_resident_memory_bytes', 'gauge'],
  ['process_start_time_seconds', 'gauge'],
  ['nodejs_eventloop_lag_seconds', 'gauge'],
  ...['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map((stat): [string, 'gauge'] => [`nodejs_eventloop_lag_${stat}_seconds`, 'gauge']),
  ['nodejs_gc_duration_seconds', 'histogram'],
  ['nodejs_heap_size_total_bytes', 'gauge'],
  ['nodejs_heap_size_used_bytes', 'gauge'],
  ['nodejs_external_memory_bytes', 'gauge'],
  ['nodejs_heap_space_size_total_bytes', 'gauge'],
  ['nodejs_heap_space_size_used_bytes', 'gauge'],
  ['nodejs_heap_space_size_available_bytes', 'gauge'],
  ['nodejs_active_resources', 'gauge'],
  ['nodejs_active_resources_total', 'gauge'],
  ['nodejs_version_info', 'gauge'],
];
const FROM_PROCFS = ['process_virtual_memory_bytes', 'process_heap_bytes', 'process_open_fds', 'process_max_fds'];

async function withProcessMetrics<T>(options: ConstructorParameters<typeof ProcessMetrics>[1], use: (registry: Registry, metrics: ProcessMetrics) => Promise<T>): Promise<T> {
  const registry = new Registry();
  const metrics = new ProcessMetrics(registry, options);
  metrics.start();
  try {
    return await use(registry, metrics);
  } finally {
    metrics.stop();
  }
}

const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number => {
  const found = sampleValue(families, name, labels);
  assert.ok(found !== undefined, `${name} ${JSON.stringify(labels)} is exported`);
  return found;
};

/** CPU work whose result is used, so it cannot be optimised away. */
function burnCpu(rounds: number): string {
  let digest = 'seed';
  for (let round = 0; round < rounds; round += 1) digest = createHash('sha256').update(digest).digest('hex');
  return digest;
}

describe('process metrics', () => {
  it('exports prom-client names and types, each with HELP', async () => {
    await withProcessMetrics({}, async (registry) => {
      const families = parseExposition(await registry.render());
      for (const [name, type] of [...COMMON, ...(LINUX ? FROM_PROCFS.map((name): [string, 'gauge'] => [name, 'gauge']) : [])]) {
        assert.equal(families.get(name)?.type, type, name);
        assert.ok((families.get(name)?.help ?? '') !== '', name);
      }
      for (const kind of ['major', 'minor', 'incremental', 'weakcb']) {
        assert.equal(sampleValue(families, 'nodejs_gc_duration_seconds_bucket', { kind, le: '+Inf' }), sampleValue(families, 'nodejs_gc_duration_seconds_count', { kind }), kind);
      }
    });
  });

  it('reports plausible values: memory and heap above 0, start time in the past, this Node version', async () => {
    await withProcessMetrics({}, async (registry) => {
      const families = parseExposition(await registry.render());
      assert.ok(value(families, 'process_resident_memory_bytes') > 0);
      assert.ok(value(families, 'nodejs_heap_size_used_bytes') > 0);
      assert.ok(value(families, 'nodejs_heap_size_used_bytes') <= value(families, 'nodejs_heap_size_total_bytes'));
      assert.ok(value(families, 'nodejs_heap_space_size_used_bytes', { space: 'old' }) > 0, 'the old space without its _space suffix');
      const startTime = value(families, 'process_start_time_seconds');
      assert.ok(startTime > 1_600_000_000 && startTime <= Date.now() / 1000 + 1, `start time ${startTime}`);
      const [major = '', minor = '', patch = ''] = process.versions.node.split('.');
      assert.equal(value(families, 'nodejs_version_info', { version: process.version, major, minor, patch }), 1);
      assert.ok(value(families, 'nodejs_active_resources_total') >= 0);
      const byType = families.get('nodejs_active_resources')?.samples ?? [];
      assert.equal(byType.reduce((sum, sample) => sum + sample.value, 0), value(families, 'nodejs_active_resources_total'));
      if (LINUX) {
        assert.ok(value(families, 'process_virtual_memory_bytes') >= value(families, 'process_resident_memory_bytes'));
        assert.ok(value(families, 'process_heap_bytes') > 0);
        const openFds = value(families, 'process_open_fds');
        assert.ok(openFds >= 3 && openFds <= value(families, 'process_max_fds'), `open fds ${openFds}`);
      }
    });
  });

  it('CPU seconds never go down between scrapes and the total is user plus system', async () => {
    await withProcessMetrics({}, async (registry) => {
      const first = parseExposition(await registry.render());
      assert.notEqual(burnCpu(20_000), '');
      const second = parseExposition(await registry.render());
      for (const name of ['process_cpu_user_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_seconds_total']) {
        assert.ok(value(second, name) >= value(first, name), name);
      }
      assert.ok(value(second, 'process_cpu_seconds_total') > 0);
      const sum = value(second, 'process_cpu_user_seconds_total') + value(second, 'process_cpu_system_seconds_total');
      assert.ok(Math.abs(value(second, 'process_cpu_seconds_total') - sum) < 1e-6);
    });
  });

  it('measures event-loop lag at scrape time; the delay statistics are seconds or NaN before a sample', async () => {
    await withProcessMetrics({}, async (registry) => {
      const families = parseExposition(await registry.render());
      const lag = value(families, 'nodejs_eventloop_lag_seconds');
      assert.ok(Number.isFinite(lag) && lag >= 0, `lag ${lag}`);
      for (const stat of ['min', 'max', 'mean', 'p50', 'p90', 'p99']) {
        const seconds = value(families, `nodejs_eventloop_lag_${stat}_seconds`);
        assert.ok(Number.isNaN(seconds) || (seconds > 0 && seconds < 3600), `${stat} ${seconds}`);
      }
    });
  });

  it('observes garbage collections into nodejs_gc_duration_seconds', async () => {
    await withProcessMetrics({}, async (registry) => {
      const collections = async (): Promise<number> => {
        const families = parseExposition(await registry.render());
        return (families.get('nodejs_gc_duration_seconds')?.samples ?? []).filter((sample) => sample.name.endsWith('_count')).reduce((sum, sample) => sum + sample.value, 0);
      };
      // Young-generation garbage forces a scavenge within a few megabytes; the observer reports it asynchronously.
      const garbage: number[] = [];
      for (let round = 0; round < 2_000 && (await collections()) === 0; round += 1) {
        garbage[round % 8] = Array.from({ length: 10_000 }, (_, index) => ({ index })).length;
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok((await collections()) > 0, 'at least one GC pause observed');
    });
  });

  it('without procfs exports resident memory from Node and no descriptor metrics', async () => {
    await withProcessMetrics({ procDir: undefined }, async (registry) => {
      const families = parseExposition(await registry.render());
      assert.ok(value(families, 'process_resident_memory_bytes') > 0);
      for (const name of FROM_PROCFS) assert.equal(families.has(name), false, name);
    });
  });

  it('an unreadable procfs shows NaN, keeps the scrape and logs each file once', async () => {
    const log = memoryLog();
    await withProcessMetrics({ procDir: '/nonexistent/outpost-proc', logger: log.logger }, async (registry) => {
      await registry.render();
      const families = parseExposition(await registry.render());
      assert.ok(value(families, 'process_resident_memory_bytes') > 0, 'falls back to Node');
      for (const name of FROM_PROCFS) assert.ok(Number.isNaN(value(families, name)), name);
      assert.deepEqual(log.messages('process metrics read failed').map((entry) => entry['file']).sort(), ['fd', 'limits', 'status']);
    });
  });
});

describe('procfs parsers', () => {
  it('reads VmRSS, VmSize and VmData in kB from /proc/self/status', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmSize:\t  900 kB\nVmRSS:\t   50 kB\nVmData:\t  300 kB\n';
    assert.deepEqual(parseProcStatus(status), { residentBytes: 50 * 1024, virtualBytes: 900 * 1024, heapBytes: 300 * 1024 });
    assert.equal(parseProcStatus('Name:\tnode\nVmRSS:\t 50 kB\n'), undefined);
  });

  it('reads the soft open-files limit from /proc/self/limits', () => {
    const header = 'Limit                     Soft Limit           Hard Limit           Units     \n';
    const table: [string, number | undefined][] = [
      [`${header}Max open files            1024                 524288               files     \n`, 1024],
      [`${header}Max open files            unlimited            unlimited            files     \n`, Infinity],
      [`${header}Max processes             63459                63459                processes \n`, undefined],
    ];
    for (const [text, expected] of table) assert.equal(parseMaxOpenFiles(text), expected);
  });
});
