// Keeps the dependency rules of STYLE.md: no import cycles, `core` imports
// nothing of ours, `smtp` / `dns` / `spool` only `core`, `policy` stays
// pure, and the server and the delivery side meet only through the spool.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's src/ (this file runs from build/test/). */
const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

interface ImportEdge {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function edges(): ImportEdge[] {
  return sourceFiles(SRC).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+'(\.[^']+)'/gm)].map((match) => ({
      from: relative(SRC, file),
      to: relative(SRC, normalize(join(dirname(file), (match[2] ?? '').replace(/\.js$/, '.ts')))),
      typeOnly: match[1] !== undefined,
    }));
  });
}

const layer = (path: string): string => (path.includes('/') ? path.slice(0, path.indexOf('/')) : path.replace(/\.ts$/, ''));

it('has no runtime import cycles', () => {
  const graph = new Map<string, string[]>();
  for (const edge of edges()) if (!edge.typeOnly) graph.set(edge.from, [...(graph.get(edge.from) ?? []), edge.to]);
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (node: string, stack: string[]): void => {
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (state.get(next) === undefined) visit(next, [...stack, next]);
    }
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (state.get(node) === undefined) visit(node, [node]);
  assert.deepEqual(cycles, []);
});

it('keeps the layers pointing inward', () => {
  const allowed: Readonly<Record<string, readonly string[]>> = {
    core: ['core'],
    smtp: ['smtp', 'core'],
    dns: ['dns', 'core'],
    spool: ['spool', 'core'],
    policy: ['policy', 'config'],
    dsn: ['dsn', 'core'],
    dkim: ['dkim', 'core', 'dns'],
    // Recipient verification knows the probe only as a function main.ts hands it (no delivery import).
    verify: ['verify', 'core', 'config', 'observability'],
    mtasts: ['mtasts', 'core', 'dns'],
    dane: ['dane', 'core', 'dns'],
    mime: ['mime', 'core'],
    // TLS reporting: its own parts, what a report is built from and sent with; never delivery or the server.
    tlsrpt: ['tlsrpt', 'core', 'config', 'dns', 'dsn', 'dkim', 'mtasts', 'smtp', 'spool'],
    suppression: ['suppression', 'core', 'smtp'],
    quota: ['quota', 'core', 'smtp'],
    // Delivery events: the outbox and sender, fed by hooks main.ts wires; types of what they report, never the server or the scheduler.
    webhooks: ['webhooks', 'core', 'config', 'spool', 'observability', 'delivery', 'quota', 'suppression'],
  };
  const forbidden: Readonly<Record<string, readonly string[]>> = {
    server: ['delivery', 'scheduler', 'dns', 'dsn', 'doctor', 'main', 'cli'],
    delivery: ['server', 'scheduler', 'main', 'cli'],
    scheduler: ['server', 'main', 'cli'],
  };
  const violations = edges()
    .filter((edge) => {
      const from = layer(edge.from);
      const to = layer(edge.to);
      const only = allowed[from];
      if (only !== undefined && !only.includes(to)) return !(from === 'policy' && edge.typeOnly);
      return forbidden[from]?.includes(to) ?? false;
    })
    .map((edge) => `${edge.from} imports ${edge.to}`);
  assert.deepEqual(violations, []);
});
