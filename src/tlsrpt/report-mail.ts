// A report for a mailto: rua as mail through outpost's own queue (RFC 8460 §5.3):
// written to the spool like a DSN, from the null sender (never bounced), DKIM-signed
// when the From: domain (or a parent) has a key, tagged "TLS-Required: No" (RFC 8689)
// so the recipient's TLS policies do not hold it back, and handed to the delivery scheduler.

import { once } from 'node:events';
import type { MessageSigner } from '../dkim/message-signer.js';
import { MessageSplitter } from '../dkim/message-splitter.js';
import type { ClientRecord, EnvelopeRecord, MessageSink } from '../spool/types.js';

/** The envelope's client record for mail this server writes itself. */
const LOCAL_CLIENT: ClientRecord = { address: '127.0.0.1', helo: 'localhost', listener: 'tlsrpt', tls: null, auth: null };

export interface ReportMail {
  /** Queues `content` (a complete 7-bit message) for `to`; resolves once it is durable in the spool. */
  queue(to: string, content: Buffer): Promise<EnvelopeRecord>;
}

export interface SpoolReportMailOptions {
  /** The spool, announcing each commit to the scheduler. */
  readonly sink: MessageSink;
  /** Signs with the key of the From: domain or a parent of it (keyringSigner); undefined: unsigned. */
  readonly signer: MessageSigner | undefined;
}

export class SpoolReportMail implements ReportMail {
  readonly #options: SpoolReportMailOptions;

  constructor(options: SpoolReportMailOptions) {
    this.#options = options;
  }

  async queue(to: string, content: Buffer): Promise<EnvelopeRecord> {
    const dkimSignature = await this.#sign(content);
    const writer = await this.#options.sink.begin();
    try {
      if (!writer.body.write(content)) await once(writer.body, 'drain');
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return writer.commit({
      from: '',
      recipients: [to],
      smtputf8: false,
      body: '7BIT',
      client: LOCAL_CLIENT,
      ...(dkimSignature === undefined ? {} : { dkimSignature }),
      // The content says "TLS-Required: No" (RFC 8460 §3); tagged as the server tags such mail at
      // acceptance, delivery ignores MTA-STS, DANE and tlsPolicy, so a report on broken TLS arrives (RFC 8689 §5).
      tlsRequirement: 'tls-required-no',
    });
  }

  async #sign(content: Buffer): Promise<string | undefined> {
    if (this.#options.signer === undefined) return undefined;
    const splitter = new MessageSplitter();
    splitter.push(content);
    const outcome = await this.#options.signer.sign(splitter.headers, splitter.bodyHash());
    return outcome.kind === 'signed' ? outcome.fields : undefined;
  }
}
