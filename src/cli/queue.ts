// `outpost queue list|show|why|flush|delete|bounce` (INTERFACE.md "Command line",
// "Machine-readable output"): views of the spool named in the config (from a
// running server's memory when one answers, else read from the queue log), and
// the queue actions (queue-actions.ts), all safe while a server runs.

import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { systemClock } from '../core/clock.js';
import { errnoCode, errorMessage } from '../core/errors.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { createLogger } from '../observability/logger.js';
import { Spool, validateId } from '../spool/spool.js';
import type { EnvelopeRecord } from '../spool/types.js';
import { requestQueueList } from '../control/list-client.js';
import { listEntry } from '../control/list-protocol.js';
import { controlSocketPath, type QueueAction } from '../control/protocol.js';
import { existingConfigFile } from './config-path.js';
import { runQueueAction } from './queue-actions.js';
import { entriesOf, recipientSummary, senderText, writeQueueList } from './queue-list.js';
import { readQueuedMessage, type QueuedMessage } from './queue-message.js';
import { runQueueWhy, type WhySource } from './queue-why.js';
import { answerUsage, EXIT_FAILURE, EXIT_OK, writeLine, type CliCommand, type CliIo } from './io.js';

const USAGE = `usage: outpost queue list [--json] [--config FILE]
       outpost queue show ID [--json] [--config FILE]
       outpost queue why ID|--all [--json] [--config FILE]
         per recipient every attempt (time, MX, address, TLS, reply) and its reason in words,
         what outpost does next and when; --all: every message deferred after an attempt
       outpost queue flush [ID] [--config FILE]
       outpost queue delete ID [--config FILE]
       outpost queue bounce ID [--config FILE]`;

const HEADER_DISPLAY_MAX_BYTES = 64 * 1024;

type Subcommand =
  | { readonly kind: 'list' }
  | { readonly kind: 'show'; readonly id: string }
  | { readonly kind: 'why'; readonly id: string | undefined }
  | { readonly kind: 'action'; readonly action: QueueAction; readonly id: string | undefined };

interface QueueArgs {
  readonly subcommand: Subcommand;
  readonly json: boolean;
  readonly config: string | undefined;
}

export const queueCommand: CliCommand = async (args, io) => {
  const parsed = args.includes('--help') || args.includes('-h') ? 'help' : parseQueueArgs(args);
  if (typeof parsed === 'string') return answerUsage(parsed, 'queue', USAGE, io);
  const file = await existingConfigFile('outpost queue', parsed.config, io);
  if (file === undefined) return EXIT_FAILURE;
  let spool: Spool | undefined;
  let config: Config;
  // Opening reads the whole queue log: an action or a list a running server answers does without it.
  const openSpool = async (): Promise<Spool> => {
    spool ??= await Spool.open({ dir: config.spoolDir, clock: systemClock, logger: createLogger('warn', io.stderr), recover: false });
    return spool;
  };
  try {
    config = await loadConfig(file, io.env);
    if (!(await folderExists(config.spoolDir))) return noSpool(config.spoolDir, parsed, io);
  } catch (error) {
    writeLine(io.stderr, `outpost queue: ${errorMessage(error)}`);
    return EXIT_FAILURE;
  }
  try {
    const { subcommand } = parsed;
    if (subcommand.kind === 'action') return await runQueueAction(config, openSpool, subcommand.action, subcommand.id, io);
    if (subcommand.kind === 'list') return await listQueue(config, openSpool, parsed.json, io);
    if (subcommand.kind === 'show') return showMessage(await readQueuedMessage(config, openSpool, subcommand.id, HEADER_DISPLAY_MAX_BYTES), subcommand.id, parsed.json, io);
    // One message: from a running server if one answers; every stuck message (--all): read from the log.
    const source: WhySource = {
      read: async (id) => (await readQueuedMessage(config, openSpool, id))?.record,
      records: async function* () {
        yield* (await openSpool()).records();
      },
    };
    return await runQueueWhy(config, source, subcommand.id, parsed.json, io);
  } catch (error) {
    writeLine(io.stderr, `outpost queue: ${errorMessage(error)}`);
    return EXIT_FAILURE;
  } finally {
    await spool?.close();
  }
};

async function folderExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** No spool folder yet (nothing was ever queued): the queue commands say so and create nothing. */
function noSpool(spoolDir: string, parsed: QueueArgs, io: CliIo): number {
  const missing = `the spool folder ${spoolDir} does not exist (nothing has been queued; \`outpost serve\` creates it)`;
  if (parsed.subcommand.kind === 'list' || (parsed.subcommand.kind === 'why' && parsed.subcommand.id === undefined)) {
    writeLine(io.stderr, `outpost queue: ${missing}`);
    writeLine(io.stdout, parsed.json ? '[]' : parsed.subcommand.kind === 'list' ? 'queue is empty' : 'no stuck messages (none deferred after an attempt)');
    return EXIT_OK;
  }
  writeLine(io.stderr, `outpost queue: no such message: ${missing}`);
  return EXIT_FAILURE;
}

/** The parsed arguments, or a usage problem. */
function parseQueueArgs(args: readonly string[]): QueueArgs | string {
  let values: { json?: boolean; all?: boolean; config?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: { json: { type: 'boolean' }, all: { type: 'boolean' }, config: { type: 'string' } },
    }));
  } catch (error) {
    return errorMessage(error);
  }
  const [name, ...operands] = positionals;
  const common = { json: values.json === true, config: values.config };
  if (values.all === true && name !== 'why') return '--all goes with why only';
  if (name === 'list') {
    return operands.length === 0 ? { subcommand: { kind: 'list' }, ...common } : 'list takes no arguments';
  }
  if (name === 'show') {
    const [id, ...extra] = operands;
    if (id === undefined || extra.length > 0) return 'show takes exactly one message id';
    if (!validateId(id)) return `not a queue id: ${JSON.stringify(id)}`;
    return { subcommand: { kind: 'show', id }, ...common };
  }
  if (name === 'why') {
    const [id, ...extra] = operands;
    const all = values.all === true;
    if (extra.length > 0 || (id === undefined) === !all) return 'why takes exactly one message id, or --all';
    if (id !== undefined && !validateId(id)) return `not a queue id: ${JSON.stringify(id)}`;
    return { subcommand: { kind: 'why', id }, ...common };
  }
  if (name === 'flush' || name === 'delete' || name === 'bounce') {
    const [id, ...extra] = operands;
    if (extra.length > 0 || (id === undefined && name !== 'flush')) return `${name} takes ${name === 'flush' ? 'at most' : 'exactly'} one message id`;
    if (id !== undefined && !validateId(id)) return `not a queue id: ${JSON.stringify(id)}`;
    return { subcommand: { kind: 'action', action: name, id }, ...common };
  }
  return name === undefined ? 'missing subcommand' : `unknown subcommand '${name}'`;
}

/** From a running server's memory when one answers (no scan of the log), else read from the log here; same output either way. */
async function listQueue(config: Config, openSpool: () => Promise<Spool>, json: boolean, io: CliIo): Promise<number> {
  const answer = await requestQueueList(controlSocketPath(config.spoolDir));
  if (answer.kind === 'stream') {
    await writeQueueList(answer.entries, json, io.stdout);
    return EXIT_OK;
  }
  if (answer.kind === 'refused') writeLine(io.stderr, `outpost queue list: the server does not list the queue (${answer.error}); reading the queue log instead`);
  await writeQueueList(entriesOf((await openSpool()).records()), json, io.stdout);
  return EXIT_OK;
}

function showMessage(message: QueuedMessage | undefined, id: string, json: boolean, io: CliIo): number {
  if (message === undefined) {
    writeLine(io.stderr, `outpost queue: no message with id ${id}`);
    return EXIT_FAILURE;
  }
  const { record, headers } = message;
  if (json) {
    writeLine(io.stdout, JSON.stringify({ ...listEntry(record), record, headers }));
  } else {
    writeLine(io.stdout, formatDetails(record, headers));
  }
  return EXIT_OK;
}

function formatDetails(record: EnvelopeRecord, headers: string): string {
  const { client } = record;
  const lines = [
    `id:            ${record.id}`,
    `from:          ${senderText(record.from)}`,
    `arrival:       ${record.arrival}`,
    `size:          ${record.size}`,
    `body:          ${record.body}${record.smtputf8 ? ', SMTPUTF8' : ''}`,
    ...(record.tlsRequirement === undefined ? [] : [`tls required:  ${TLS_REQUIREMENT_TEXT[record.tlsRequirement]}`]),
    `attempts:      ${record.attempts}`,
    `next attempt:  ${record.nextAttempt}`,
    `delay warning: ${record.delayWarningSent ? 'sent' : 'not sent'}`,
    `client:        ${client.address} helo=${client.helo} listener=${client.listener}` +
      ` tls=${client.tls ?? 'none'} auth=${client.auth ?? 'none'}`,
    'recipients:',
  ];
  for (const recipient of record.recipients) {
    lines.push(`  ${recipientSummary(recipient)}`);
    for (const attempt of recipient.history) {
      lines.push(`    ${attempt.at}${attempt.mx === undefined ? '' : ` ${attempt.mx}`}: ${attempt.reply}`);
    }
  }
  lines.push('headers:');
  for (const line of headers.split('\r\n')) {
    if (line !== '') lines.push(`  ${line}`);
  }
  return lines.join('\n');
}

/** RFC 8689 handling of the message, as `queue show` says it. */
const TLS_REQUIREMENT_TEXT = {
  requiretls: 'REQUIRETLS (verified TLS to servers offering REQUIRETLS only, else bounced 5.7.x)',
  'tls-required-no': 'no (TLS-Required: No header: MTA-STS, DANE and delivery.tlsPolicy ignored)',
} as const;
