// The standard process and Node.js runtime metrics, under the names prom-client
// exports (so the usual Node dashboards work): CPU, memory, descriptors, start
// time, event-loop lag, GC pauses, heap, active resources and the Node version.
// Everything is read at scrape time from the process itself, without a timer of ours.

import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver, performance, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Logger } from './logger.js';
import { ProcSelf } from './proc-self.js';
import type { Counter, Gauge, Histogram, Registry } from './prometheus.js';

export interface ProcessMetricsOptions {
  /**
   * The procfs folder of this process; default `/proc/self` on Linux, none elsewhere.
   * Without it, virtual memory, heap (VmData) and descriptor metrics are not exported
   * and resident memory comes from `process.memoryUsage.rss()`.
   */
  readonly procDir?: string | undefined;
  /** Where a failing procfs read is reported (the metric then shows NaN). */
  readonly logger?: Logger;
}

/** prom-client's buckets for GC pauses, in seconds. */
export const GC_DURATION_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5] as const;

/** Sampling resolution of the event-loop delay monitor. */
const EVENT_LOOP_RESOLUTION_MS = 10;

const GC_KINDS: ReadonlyMap<number, string> = new Map([
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [perfConstants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

const LAG_STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;
type LagStat = (typeof LAG_STATS)[number];

/**
 * Registers the metrics on `registry` at construction; `start()` turns on the two
 * observers that record between scrapes (event-loop delay, GC), `stop()` turns them off.
 */
export class ProcessMetrics {
  private readonly proc: ProcSelf | undefined;
  private readonly lagMonitor: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  private gcObserver: PerformanceObserver | undefined;
  private readonly gcDuration: Histogram<'kind'>;
  private readonly lagStats: ReadonlyMap<LagStat, Gauge>;
  private readonly failedReads = new Set<string>();

  constructor(
    private readonly registry: Registry,
    private readonly options: ProcessMetricsOptions = {},
  ) {
    const procDir = 'procDir' in options ? options.procDir : process.platform === 'linux' ? '/proc/self' : undefined;
    this.proc = procDir === undefined ? undefined : new ProcSelf(procDir);
    this.registerCpu();
    this.registerMemory();
    if (this.proc !== undefined) this.registerFds(this.proc);
    const startTime = registry.gauge({ name: 'process_start_time_seconds', help: 'Start time of the process since unix epoch in seconds.' });
    startTime.set({}, Math.round(performance.timeOrigin / 1000));
    const version = registry.gauge({ name: 'nodejs_version_info', help: 'Node.js version info.', labelNames: ['version', 'major', 'minor', 'patch'] });
    const [major = '', minor = '', patch = ''] = process.versions.node.split('.');
    version.set({ version: process.version, major, minor, patch }, 1);
    this.registerEventLoop();
    this.lagStats = new Map(
      LAG_STATS.map((stat) => [stat, registry.gauge({ name: `nodejs_eventloop_lag_${stat}_seconds`, help: `The ${stat} of the recorded event loop delays.` })]),
    );
    registry.addCollector(() => this.collectLagStats());
    this.gcDuration = registry.histogram({
      name: 'nodejs_gc_duration_seconds',
      help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
      labelNames: ['kind'],
      buckets: GC_DURATION_BUCKETS,
    });
    for (const kind of GC_KINDS.values()) this.gcDuration.touch({ kind });
    this.registerResources();
  }

  /** Starts recording event-loop delays and GC pauses (idempotent). Neither keeps the process alive. */
  start(): void {
    this.lagMonitor.enable();
    if (this.gcObserver !== undefined) return;
    this.gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        // A gc entry carries `detail.kind` (Node >= 16); the types declare `detail` only on marks and measures.
        const detail = (entry as { readonly detail?: { readonly kind?: unknown } }).detail;
        const kind = typeof detail?.kind === 'number' ? GC_KINDS.get(detail.kind) : undefined;
        if (kind !== undefined) this.gcDuration.observe({ kind }, entry.duration / 1000);
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.lagMonitor.disable();
    this.gcObserver?.disconnect();
    this.gcObserver = undefined;
  }

  private registerCpu(): void {
    const user: Counter = this.registry.counter({ name: 'process_cpu_user_seconds_total', help: 'Total user CPU time spent in seconds.' });
    const system: Counter = this.registry.counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.' });
    const total: Counter = this.registry.counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.' });
    this.registry.addCollector(() => {
      const usage = process.cpuUsage();
      user.setTotal({}, usage.user / 1e6);
      system.setTotal({}, usage.system / 1e6);
      total.setTotal({}, (usage.user + usage.system) / 1e6);
    });
  }

  private registerMemory(): void {
    const r = this.registry;
    const resident = r.gauge({ name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.' });
    const heapTotal = r.gauge({ name: 'nodejs_heap_size_total_bytes', help: 'Process heap size from Node.js in bytes.' });
    const heapUsed = r.gauge({ name: 'nodejs_heap_size_used_bytes', help: 'Process heap size used from Node.js in bytes.' });
    const external = r.gauge({ name: 'nodejs_external_memory_bytes', help: 'Node.js external memory size in bytes.' });
    const spaceTotal = r.gauge({ name: 'nodejs_heap_space_size_total_bytes', help: 'Process heap space size total from Node.js in bytes.', labelNames: ['space'] });
    const spaceUsed = r.gauge({ name: 'nodejs_heap_space_size_used_bytes', help: 'Process heap space size used from Node.js in bytes.', labelNames: ['space'] });
    const spaceAvailable = r.gauge({ name: 'nodejs_heap_space_size_available_bytes', help: 'Process heap space size available from Node.js in bytes.', labelNames: ['space'] });
    const proc = this.proc;
    const virtual = proc === undefined ? undefined : r.gauge({ name: 'process_virtual_memory_bytes', help: 'Virtual memory size in bytes.' });
    const heap = proc === undefined ? undefined : r.gauge({ name: 'process_heap_bytes', help: 'Process heap size in bytes.' });
    r.addCollector(async () => {
      const usage = process.memoryUsage();
      heapTotal.set({}, usage.heapTotal);
      heapUsed.set({}, usage.heapUsed);
      external.set({}, usage.external);
      for (const space of getHeapSpaceStatistics()) {
        const labels = { space: space.space_name.replace(/_space$/, '') };
        spaceTotal.set(labels, space.space_size);
        spaceUsed.set(labels, space.space_used_size);
        spaceAvailable.set(labels, space.space_available_size);
      }
      if (proc === undefined) {
        resident.set({}, usage.rss);
        return;
      }
      const memory = await this.procRead('status', () => proc.memory());
      resident.set({}, memory?.residentBytes ?? usage.rss);
      virtual?.set({}, memory?.virtualBytes ?? NaN);
      heap?.set({}, memory?.heapBytes ?? NaN);
    });
  }

  private registerFds(proc: ProcSelf): void {
    const open = this.registry.gauge({ name: 'process_open_fds', help: 'Number of open file descriptors.' });
    const max = this.registry.gauge({ name: 'process_max_fds', help: 'Maximum number of open file descriptors.' });
    this.registry.addCollector(async () => {
      open.set({}, (await this.procRead('fd', () => proc.openFds())) ?? NaN);
      max.set({}, (await this.procRead('limits', () => proc.maxFds())) ?? NaN);
    });
  }

  /** prom-client's `nodejs_eventloop_lag_seconds`: how late a callback queued at scrape time runs. */
  private registerEventLoop(): void {
    const lag = this.registry.gauge({ name: 'nodejs_eventloop_lag_seconds', help: 'Lag of event loop in seconds.' });
    this.registry.addCollector(async () => {
      const queuedAt = process.hrtime.bigint();
      await new Promise<void>((resolve) => setImmediate(resolve));
      lag.set({}, Number(process.hrtime.bigint() - queuedAt) / 1e9);
    });
  }

  /** The delays recorded since the last scrape (NaN before any), then a fresh start, as prom-client does. */
  private collectLagStats(): void {
    const monitor = this.lagMonitor;
    const recorded = monitor.count > 0;
    const values: Record<LagStat, number> = {
      min: monitor.min,
      max: monitor.max,
      mean: monitor.mean,
      stddev: monitor.stddev,
      p50: monitor.percentile(50),
      p90: monitor.percentile(90),
      p99: monitor.percentile(99),
    };
    for (const [stat, gauge] of this.lagStats) gauge.set({}, recorded ? values[stat] / 1e9 : NaN);
    monitor.reset();
  }

  /** `process.getActiveResourcesInfo()` counted by type (timers, sockets, file handles...). */
  private registerResources(): void {
    const byType = this.registry.gauge({ name: 'nodejs_active_resources', help: 'Active resources keeping the event loop alive, by type.', labelNames: ['type'] });
    const total = this.registry.gauge({ name: 'nodejs_active_resources_total', help: 'Total number of active resources.' });
    this.registry.addCollector(() => {
      const counts = new Map<string, number>();
      const resources = process.getActiveResourcesInfo();
      for (const type of resources) counts.set(type, (counts.get(type) ?? 0) + 1);
      byType.clear();
      for (const [type, count] of counts) byType.set({ type }, count);
      total.set({}, resources.length);
    });
  }

  /** A procfs read, or undefined when it fails (logged once per file): one broken reading never fails the scrape. */
  private async procRead<T>(file: string, read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (error: unknown) {
      if (!this.failedReads.has(file)) this.options.logger?.warn({ err: error, file }, 'process metrics read failed');
      this.failedReads.add(file);
      return undefined;
    }
  }
}
