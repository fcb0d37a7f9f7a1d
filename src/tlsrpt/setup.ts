// Builds the TLS reporting parts (RFC 8460) from the settings: the recorder over
// the spool's tlsrpt/ folder (before the delivery transport, which records into
// it) and the daily sender (after the scheduler, whose queue carries mailto reports).

import { join } from 'node:path';
import type { Logger } from 'pino';
import type { TlsRptConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import type { MessageSigner } from '../dkim/message-signer.js';
import type { Resolver } from '../dns/resolver.js';
import type { MessageSink } from '../spool/types.js';
import { HttpsReportPoster, type ReportPoster } from './https-poster.js';
import { SpoolRecorder, type RecorderObserver } from './recorder.js';
import { SpoolReportMail } from './report-mail.js';
import { DailyReportSender, type ReportSenderObserver } from './sender.js';
import { REPORT_FOLDER, ReportStore } from './store.js';

/** The local part of the From: address of report mail, at the hostname. */
export const REPORT_FROM_LOCAL_PART = 'tlsrpt-noreply';

export interface RecorderParts {
  readonly store: ReportStore;
  readonly recorder: SpoolRecorder;
}

export function createTlsReportRecorder(spoolDir: string, deps: { readonly clock: Clock; readonly logger: Logger; readonly observer?: RecorderObserver }): RecorderParts {
  const store = new ReportStore(join(spoolDir, REPORT_FOLDER));
  const recorder = new SpoolRecorder({ store, clock: deps.clock, logger: deps.logger, ...(deps.observer === undefined ? {} : { observer: deps.observer }) });
  return { store, recorder };
}

export interface SenderDependencies {
  readonly hostname: string;
  readonly resolver: Resolver;
  readonly ipv6: boolean;
  /** PEM CAs trusted for https: reports (Node's roots plus delivery.caFile); undefined = Node's store. */
  readonly ca: readonly string[] | undefined;
  /** The spool, announcing commits to the scheduler. */
  readonly sink: MessageSink;
  readonly signer: MessageSigner | undefined;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  readonly observer?: ReportSenderObserver;
  /** Replaces the HTTPS poster (tests). */
  readonly poster?: ReportPoster;
  readonly userAgent?: string;
}

export function createTlsReportSender(settings: TlsRptConfig, parts: RecorderParts, deps: SenderDependencies): DailyReportSender {
  const poster =
    deps.poster ??
    new HttpsReportPoster({ resolver: deps.resolver, ipv6: deps.ipv6, clock: deps.clock, ...(deps.ca === undefined ? {} : { ca: deps.ca }), ...(deps.userAgent === undefined ? {} : { userAgent: deps.userAgent }) });
  return new DailyReportSender({
    store: parts.store,
    flush: () => parts.recorder.flush(),
    resolver: deps.resolver,
    poster,
    mail: new SpoolReportMail({ sink: deps.sink, signer: deps.signer }),
    submitter: { organization: settings.organization || deps.hostname, contact: settings.contact || `postmaster@${deps.hostname}`, hostname: deps.hostname },
    fromAddress: `${REPORT_FROM_LOCAL_PART}@${deps.hostname}`,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
    ...(deps.observer === undefined ? {} : { observer: deps.observer }),
  });
}
