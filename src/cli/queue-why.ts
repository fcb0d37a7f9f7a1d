// `outpost queue why ID|--all [--json]` (INTERFACE.md "Command line"): why a
// message is where it is. Reads the spool; asks a running server over the
// control socket for the state of the providers involved (else says unknown).

import type { Config } from '../config/types.js';
import { sendControlRequest } from '../control/control-client.js';
import { controlSocketPath } from '../control/protocol.js';
import type { ProviderStateRequest, ProviderStateResponse, ProviderStateView } from '../control/provider-protocol.js';
import { providerNamingOf, providerOfHost } from '../delivery/provider-key.js';
import type { EnvelopeRecord } from '../spool/types.js';
import { durationText, isStuck, providersOf, whyReport, type ProviderStates, type WhyReport, type WhySettings } from './queue-why-report.js';
import { EXIT_FAILURE, EXIT_OK, writeLine, type CliIo } from './io.js';

const CONTROL_TIMEOUT_MS = 5_000;

export function whySettings(config: Config): WhySettings {
  const naming = providerNamingOf(config.delivery);
  return {
    retryDelaysMs: config.delivery.retryDelaysMs,
    maxQueueLifetimeMs: config.delivery.maxQueueLifetimeMs,
    delayWarningMs: config.delivery.delayWarningMs,
    providerOfHost: (host) => providerOfHost(host, naming),
  };
}

/** The server's view of the providers; undefined when no server runs (or it cannot say). */
async function askProviders(config: Config, names: readonly string[], io: CliIo): Promise<ProviderStates> {
  const request: ProviderStateRequest = { action: 'provider-state', providers: names.slice(0, 64) };
  try {
    const result = await sendControlRequest<ProviderStateRequest, ProviderStateResponse>(controlSocketPath(config.spoolDir), request, CONTROL_TIMEOUT_MS);
    if (result.kind === 'no-server') return undefined;
    const { response } = result;
    if (!response.ok || !Array.isArray(response.providers)) {
      writeLine(io.stderr, `outpost queue why: the server gave no provider state${response.ok ? '' : `: ${response.error}`}`);
      return undefined;
    }
    return new Map(response.providers.map((state) => [state.provider, state]));
  } catch (error) {
    writeLine(io.stderr, `outpost queue why: cannot ask the server: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** Where the messages come from (a Spool, or one message from a running server). */
export interface WhySource {
  read(id: string): Promise<EnvelopeRecord | undefined>;
  records(): AsyncIterable<EnvelopeRecord>;
}

export async function runQueueWhy(config: Config, spool: WhySource, id: string | undefined, json: boolean, io: CliIo, nowMs = Date.now()): Promise<number> {
  let records: EnvelopeRecord[];
  if (id === undefined) {
    records = [];
    for await (const record of spool.records()) if (isStuck(record)) records.push(record);
  } else {
    const record = await spool.read(id);
    if (record === undefined) {
      writeLine(io.stderr, `outpost queue why: no message with id ${id}`);
      return EXIT_FAILURE;
    }
    records = [record];
  }
  const settings = whySettings(config);
  const names = [...new Set(records.flatMap((record) => providersOf(record, settings)))];
  const providers = await askProviders(config, names, io);
  const reports = records.map((record) => whyReport(record, settings, providers, nowMs));
  if (json) {
    writeLine(io.stdout, JSON.stringify(id === undefined ? reports : reports[0]));
  } else if (reports.length === 0) {
    writeLine(io.stdout, 'no stuck messages (none deferred after an attempt)');
  } else {
    writeLine(io.stdout, reports.map((report) => formatWhy(report, nowMs)).join('\n\n'));
  }
  return EXIT_OK;
}

function providerLine(state: ProviderStateView, nowMs: number): string {
  if (!state.known) return `  ${state.provider}: no state on the server (not sent to since it started, or recovered and forgotten)`;
  const paused = state.pausedUntilMs !== null && state.pausedUntilMs > nowMs ? `paused until ${new Date(state.pausedUntilMs).toISOString()} (in ${durationText(state.pausedUntilMs - nowMs)})` : 'not paused';
  const throttle = state.lastThrottle === null ? '' : `; last throttled ${new Date(state.lastThrottle.atMs).toISOString()} (${state.lastThrottle.reason}: ${state.lastThrottle.reply})`;
  const rate = state.rateReadyAtMs === null ? '' : `; rate cap allows the next message at ${new Date(state.rateReadyAtMs).toISOString()}`;
  return `  ${state.provider}: ${paused}; sessions ${state.running ?? 0} running, ${state.allowedSessions ?? '?'} allowed of ${state.maxSessions ?? '?'}; throttled ${state.throttledTotal ?? 0} times${throttle}${rate}`;
}

export function formatWhy(report: WhyReport, nowMs: number): string {
  const warning = report.delayWarning;
  const lines = [
    `message ${report.id} from ${report.from === '' ? '<>' : report.from}, arrived ${report.arrival}, ${report.attempts} attempts`,
    `next:          ${report.next}`,
    `expires:       ${report.expiresAt}`,
    `delay warning: ${warning.state === 'pending' ? `due at ${warning.at ?? '?'}` : warning.state}`,
  ];
  if (report.providers === null) {
    lines.push('providers:     unknown (no server is running, or it did not answer on the control socket)');
  } else if (report.providers.length === 0) {
    lines.push('providers:     none reached yet');
  } else {
    lines.push('providers (from the running server):', ...report.providers.map((state) => providerLine(state, nowMs)));
  }
  lines.push('recipients:');
  for (const recipient of report.recipients) {
    lines.push(`  ${recipient.address}: ${recipient.state}, ${recipient.attempts} attempts${recipient.provider === null ? '' : `, provider ${recipient.provider}`}`);
    lines.push(`    why: ${recipient.explanation}`);
    for (const attempt of recipient.history) {
      const where = [attempt.mx, attempt.address === null ? null : `[${attempt.address}]`].filter((part) => part !== null).join('');
      const tls = attempt.address === null ? '' : ` tls=${attempt.tls ?? 'none'}`;
      lines.push(`    ${attempt.at}${where === '' ? '' : ` ${where}`}${tls}: ${attempt.reply} (${attempt.reason})`);
    }
    if (recipient.lastExchange !== null) lines.push('    last SMTP exchange:', ...recipient.lastExchange.map((line) => `      ${line}`));
  }
  return lines.join('\n');
}
