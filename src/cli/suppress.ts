// `outpost suppress list|add ADDRESS|remove ADDRESS` (README "Suppression list"):
// through the running server's control socket when one runs (it owns the list),
// else on spoolDir/suppression.json directly, under its lock file.

import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { errnoCode, errorMessage } from '../core/errors.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { sendControlRequest } from '../control/control-client.js';
import { controlSocketPath } from '../control/protocol.js';
import { entryView, type SuppressionEntryView, type SuppressionRequest, type SuppressionResponse } from '../control/suppression-protocol.js';
import { suppressionKey, SuppressionList } from '../suppression/list.js';
import { readSuppressionFile } from '../suppression/store.js';
import { changeOffline } from '../suppression/suppressions.js';
import { existingConfigFile } from './config-path.js';
import { answerUsage, EXIT_FAILURE, EXIT_OK, writeLine, type CliCommand, type CliIo } from './io.js';

const USAGE = `usage: outpost suppress list [--json] [--config FILE]
       outpost suppress add ADDRESS [--config FILE]
       outpost suppress remove ADDRESS [--config FILE]

Addresses that failed permanently (5.1.1, 5.1.6, 5.1.10) suppression.after times within
suppression.ttl are refused at RCPT with 550 5.1.1 until the ttl has passed.
add suppresses an address for suppression.ttl; remove lifts a suppression (and forgets its failures).
Works with and without a running server.`;

type Subcommand = { readonly kind: 'list' } | { readonly kind: 'add' | 'remove'; readonly address: string };

export const suppressCommand: CliCommand = async (args, io) => {
  const parsed = args.includes('--help') || args.includes('-h') ? 'help' : parseSuppressArgs(args);
  if (typeof parsed === 'string') return answerUsage(parsed, 'suppress', USAGE, io);
  const file = await existingConfigFile('outpost suppress', parsed.config, io);
  if (file === undefined) return EXIT_FAILURE;
  try {
    const config = await loadConfig(file, io.env);
    if (!config.suppression.enabled) writeLine(io.stderr, 'outpost suppress: note: suppression.enabled is false: the list is kept but RCPT is not checked against it');
    if (!(await folderExists(config.spoolDir))) {
      writeLine(io.stderr, `outpost suppress: the spool folder ${config.spoolDir} does not exist (\`outpost serve\` creates it)`);
      if (parsed.subcommand.kind !== 'list') return EXIT_FAILURE;
      writeLine(io.stdout, parsed.json ? '[]' : 'no suppressed addresses');
      return EXIT_OK;
    }
    return await run(config, parsed.subcommand, parsed.json, io);
  } catch (error) {
    writeLine(io.stderr, `outpost suppress: ${errorMessage(error)}`);
    return EXIT_FAILURE;
  }
};

async function run(config: Config, subcommand: Subcommand, json: boolean, io: CliIo): Promise<number> {
  const request: SuppressionRequest = subcommand.kind === 'list' ? { action: 'suppress-list' } : { action: `suppress-${subcommand.kind}`, address: subcommand.address };
  const result = await sendControlRequest<SuppressionRequest, SuppressionResponse>(controlSocketPath(config.spoolDir), request);
  let found: boolean;
  let entries: readonly SuppressionEntryView[] | undefined;
  if (result.kind === 'answered') {
    if (!result.response.ok) {
      writeLine(io.stderr, `outpost suppress ${subcommand.kind}: the server says: ${result.response.error}`);
      return EXIT_FAILURE;
    }
    found = result.response.found;
    entries = result.response.entries;
  } else {
    ({ found, entries } = await runOffline(config, subcommand));
  }
  if (subcommand.kind === 'list') {
    const shown = entries ?? [];
    writeLine(io.stdout, json ? JSON.stringify(shown.map(jsonEntry)) : formatTable(shown));
    return EXIT_OK;
  }
  if (!found) {
    writeLine(io.stderr, subcommand.kind === 'add' ? `outpost suppress add: not an address: ${subcommand.address}` : `outpost suppress remove: ${subcommand.address} is not on the list`);
    return EXIT_FAILURE;
  }
  const until = new Date(Date.now() + config.suppression.ttlMs).toISOString();
  writeLine(io.stdout, subcommand.kind === 'add' ? `${subcommand.address}: suppressed until ${until}` : `${subcommand.address}: removed from the suppression list`);
  return EXIT_OK;
}

/** No server runs: the file directly, each change under the lock (a server starting meanwhile waits for it). */
async function runOffline(config: Config, subcommand: Subcommand): Promise<{ found: boolean; entries?: SuppressionEntryView[] }> {
  const nowMs = Date.now();
  const settings = { after: config.suppression.after, ttlMs: config.suppression.ttlMs };
  if (subcommand.kind === 'list') {
    const list = new SuppressionList(await readSuppressionFile(config.spoolDir));
    list.prune(nowMs, settings.ttlMs);
    return { found: true, entries: list.all().map(entryView) };
  }
  const found = await changeOffline(config.spoolDir, settings, nowMs, (list) =>
    subcommand.kind === 'add' ? list.add(subcommand.address, nowMs, settings.ttlMs) !== undefined : list.remove(subcommand.address),
  );
  return { found };
}

function jsonEntry(entry: SuppressionEntryView): Record<string, unknown> {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    address: entry.address,
    state: entry.expiresAtMs === null ? 'counting' : 'suppressed',
    failures: entry.failuresMs.map((ms) => new Date(ms).toISOString()),
    suppressedAt: iso(entry.suppressedAtMs),
    expires: iso(entry.expiresAtMs),
    source: entry.source,
    reply: entry.reply,
  };
}

function formatTable(entries: readonly SuppressionEntryView[]): string {
  if (entries.length === 0) return 'no suppressed addresses';
  const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const rows = [['ADDRESS', 'STATE', 'SINCE', 'EXPIRES', 'SOURCE', 'LAST REPLY']];
  for (const entry of entries) {
    const state = entry.expiresAtMs === null ? `counting (${entry.failuresMs.length} failure${entry.failuresMs.length === 1 ? '' : 's'})` : 'suppressed';
    rows.push([entry.address, state, iso(entry.suppressedAtMs), iso(entry.expiresAtMs), entry.source, entry.reply]);
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd()).join('\n');
}

function parseSuppressArgs(args: readonly string[]): { subcommand: Subcommand; json: boolean; config: string | undefined } | string {
  let values: { json?: boolean; config?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...args], allowPositionals: true, strict: true, options: { json: { type: 'boolean' }, config: { type: 'string' } } }));
  } catch (error) {
    return errorMessage(error);
  }
  const [name, ...operands] = positionals;
  const common = { json: values.json === true, config: values.config };
  if (name === 'list') return operands.length === 0 ? { subcommand: { kind: 'list' }, ...common } : 'list takes no arguments';
  if (name === 'add' || name === 'remove') {
    const [address, ...extra] = operands;
    if (address === undefined || extra.length > 0) return `${name} takes exactly one address`;
    if (suppressionKey(address) === undefined) return `not an address: ${JSON.stringify(address)}`;
    return { subcommand: { kind: name, address }, ...common };
  }
  return name === undefined ? 'missing subcommand' : `unknown subcommand '${name}'`;
}

async function folderExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}
