// One inbound SMTP connection: reads commands with backpressure, answers
// pipelined commands in order (RFC 2920), runs the DATA phase or reads BDAT
// chunks (RFC 3030), and enforces the per-command deadline, the minimum data
// rate and the error limit.

import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Clock } from '../core/clock.js';
import { errnoCode } from '../core/errors.js';
import type { LimitsConfig, ListenerMode } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { formatReply, replyText, withText, type Reply } from '../smtp/reply.js';
import { Replies } from '../smtp/replies.js';
import { CommandLineReader, MAX_COMMAND_LINE_BYTES, type CommandLine } from '../smtp/line-reader.js';
import { MAX_SASL_LINE_OCTETS, type SaslState } from '../auth/sasl.js';
import { AuthExchange, type AuthServices, type AuthStep } from './auth-exchange.js';
import { formatPath, type Mailbox } from '../smtp/address.js';
import type { MessageSink } from '../spool/types.js';
import type { FreeSpaceReader } from '../spool/free-space.js';
import type { SenderIdentity, SendingGuards } from './sending-guards.js';
import { addRecipient, handleCommand, type CommandContext, type RelayDecision, type SessionState, type Transaction } from './commands.js';
import { recipientToVerify, verificationRefusal } from './recipient-verification.js';
import type { RecipientVerifier } from '../verify/types.js';
import { DataReceiver, type SubmissionFixes } from './data-receiver.js';
import { DataDecoder } from '../smtp/data-decoder.js';
import { ChunkDecoder } from '../smtp/chunk-decoder.js';
import type { ContentDecoder } from '../smtp/content-decoder.js';
import { refuseChunk, type ChunkPlan } from './chunking.js';
import { ChunkTransfer } from './chunk-transfer.js';
import { SessionDeadline } from './session-deadline.js';
import { rejectionReason, type SessionObserver } from './session-observer.js';
import { formatRfc5322DateMs } from '../core/date.js';
import { buildReceivedHeader } from './received-header.js';
import type { MessageSigner, SignOutcome } from '../dkim/message-signer.js';

/** Replies with these codes count toward the error limit (RFC 5321 §4.2: 5yz syntax/sequence/policy). */
const MAX_ERRORS = 10;
/** Stop reading while this much output is waiting for a client that does not read. */
const OUTPUT_HIGH_WATER_BYTES = 64 * 1024;
/** Replies held back while more pipelined input is waiting are written anyway once they reach this size. */
const MAX_HELD_REPLY_CHARS = 16 * 1024;

export interface SessionOptions {
  readonly id: string;
  readonly socket: Socket;
  readonly hostname: string;
  readonly mode: ListenerMode;
  readonly clientAddress: string;
  readonly clientTrusted: boolean;
  readonly limits: LimitsConfig;
  /** The current certificate, or undefined when TLS is not configured (read per handshake: SIGHUP can swap it). */
  readonly tlsContext: () => SecureContext | undefined;
  readonly spool: MessageSink;
  /** Free bytes on the spool's disk, read before MAIL and DATA for the reserve (`limits.minFreeBytes`). Absent: no check. */
  readonly freeSpaceBytes?: FreeSpaceReader | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer?: SessionObserver | undefined;
  /** AUTH (RFC 4954): the users file, the failed-AUTH limiter. Absent: no AUTH. */
  readonly auth?: AuthServices | undefined;
  /** DKIM (RFC 6376): signs messages from authorized clients (trusted network or AUTH). Absent: no signing. */
  readonly dkimSigner?: MessageSigner | undefined;
  /** Verifies local-domain recipients of unauthorized `mta` clients at RCPT (no backscatter). Absent: no verification. */
  readonly recipientVerifier?: RecipientVerifier | undefined;
  /** Sender quotas and the suppression list (sending-guards.ts). Absent: none. */
  readonly guards?: SendingGuards | undefined;
  isLocalDomain(canonicalDomain: string): boolean;
}

export type SessionEnd = 'quit' | 'disconnect' | 'timeout' | 'too-many-errors' | 'shutdown' | 'error' | 'refused' | 'tls-failed' | 'auth-locked-out' | 'protocol-error';

/** The reply to a command line the reader refuses (RFC 5321 §2.3.8, §4.5.3.1.4). */
const LINE_REFUSALS: Readonly<Record<Exclude<CommandLine['kind'], 'line'>, Reply>> = {
  'too-long': Replies.lineTooLong,
  'bare-lf': Replies.bareLfInCommand,
  'nul-or-bare-cr': Replies.nulOrBareCrInCommand,
};

/** AUTH lines may be longer than commands (RFC 4954 §4). */
const MAX_READ_LINE_BYTES = MAX_SASL_LINE_OCTETS + 2;

/** The negotiated TLS parameters of a session, for the Received header, the log and the spool. */
export interface TlsInfo {
  readonly protocol: string;
  readonly cipher: string;
}

export class SmtpSession {
  private readonly state: SessionState = { helo: undefined, esmtp: false, authenticatedUser: null, transaction: undefined };
  private readonly context: CommandContext;
  private reader = new CommandLineReader(MAX_READ_LINE_BYTES);
  private sasl: SaslState | undefined;
  private readonly authExchange: AuthExchange | undefined;
  private socket: Socket;
  private tls: TlsInfo | null = null;
  private upgradeRequested = false;
  private readonly log: Logger;
  /** The per-command and per-reply trace lines are built only when the log level shows them. */
  private readonly tracing: boolean;
  /** Replies not yet written: all the replies to one read of input go out in one write. */
  private outbox: string[] = [];
  private outboxChars = 0;
  private errors = 0;
  private closed = false;
  private busy = false;
  private shuttingDown = false;
  private end: SessionEnd = 'disconnect';
  private readonly deadline: SessionDeadline;
  private receiver: DataReceiver | undefined;
  /** The BDAT chunk whose octets are being read. */
  private chunk: ChunkTransfer | undefined;
  /** The message a BDAT transaction is building, open from its first accepted chunk to LAST. */
  private chunked: { readonly transaction: Transaction; readonly receiver: DataReceiver } | undefined;
  private messagesQueued = 0;
  private messagesRejected = 0;
  private freeBytes: number | undefined;

  constructor(private readonly options: SessionOptions) {
    this.socket = options.socket;
    this.log = options.logger.child({ sid: options.id });
    this.tracing = this.log.isLevelEnabled('trace');
    this.deadline = new SessionDeadline(options.clock, options.limits, (kind) => this.timeOut(kind === 'data' ? Replies.dataTooSlow : Replies.idleTimeout));
    this.authExchange = options.auth === undefined ? undefined : new AuthExchange(options.auth, options.clientAddress);
    this.context = {
      hostname: options.hostname,
      mode: options.mode,
      clientAddress: options.clientAddress,
      clientTrusted: options.clientTrusted,
      maxMessageBytes: options.limits.maxMessageBytes,
      maxRecipients: options.limits.maxRecipients,
      minFreeBytes: options.limits.minFreeBytes,
      freeSpaceBytes: () => this.freeBytes,
      isLocalDomain: (domain) => options.isLocalDomain(domain),
      tlsOffered: () => this.tls === null && options.tlsContext() !== undefined,
      tlsActive: () => this.tls !== null,
      authConfigured: () => options.auth?.users() !== undefined,
      verifiesRecipients: options.recipientVerifier !== undefined,
      relayDecision: (decision) => this.logRelayDecision(decision),
      senderRefusal: (user) => options.guards?.senderRefusal?.(this.sender(user)),
      recipientRefusal: (recipient, user) => options.guards?.recipientRefusal?.(recipient, this.sender(user)),
    };
  }

  private sender(user: string | null): SenderIdentity {
    return { user, clientAddress: this.options.clientAddress, trusted: this.options.clientTrusted };
  }

  /** Reply bytes written but not yet taken by the client's TCP stack. */
  get pendingOutputBytes(): number {
    return this.socket.writableLength;
  }

  /** Runs the conversation until the client leaves or is dropped. Never rejects. */
  async run(): Promise<void> {
    this.socket.on('error', (error) => this.log.debug({ err: error }, 'socket error'));
    this.log.debug({ client: this.options.clientAddress, mode: this.options.mode }, 'session start');
    this.options.observer?.sessionStarted(this.options.mode);
    try {
      if (this.options.mode === 'smtps') {
        this.deadline.command();
        if (!(await this.startTls())) return;
      }
      this.send({ code: 220, status: undefined, lines: [`${this.options.hostname} ESMTP outpost`] });
      this.flush();
      this.deadline.command();
      while ((await this.readUntilUpgrade()) && !this.closed) {
        if (!(await this.startTls())) break;
      }
    } catch (error: unknown) {
      if (!this.closed) {
        const clientWentAway = ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE'].includes(errnoCode(error) ?? '');
        if (!clientWentAway) this.log.warn({ err: error }, 'session failed');
        this.end = clientWentAway ? 'disconnect' : 'error';
      }
    } finally {
      this.options.observer?.sessionEnded();
      this.deadline.cancel();
      await this.abandonData();
      if (!this.socket.destroyed) this.socket.destroy();
      if (!this.options.socket.destroyed) this.options.socket.destroy();
      this.log.info(
        {
          client: this.options.clientAddress,
          mode: this.options.mode,
          helo: this.state.helo ?? null,
          tls: this.tls === null ? null : `${this.tls.protocol} ${this.tls.cipher}`,
          user: this.state.authenticatedUser,
          queued: this.messagesQueued,
          rejected: this.messagesRejected,
          result: this.end,
        },
        'session end',
      );
    }
  }

  /** Reads and answers commands until the client leaves (false) or STARTTLS was accepted (true). */
  private async readUntilUpgrade(): Promise<boolean> {
    const socket = this.socket;
    for await (const chunk of socket.iterator({ destroyOnReturn: false })) {
      if (this.closed) return false;
      this.busy = true;
      await this.consume(chunk as Buffer);
      this.busy = false;
      if (!this.moreInputWaiting()) this.flush();
      // Tests wait for this line instead of sleeping (e.g. before moving a manual clock).
      if (this.tracing) this.log.trace({ bytes: (chunk as Buffer).length }, 'input consumed');
      if (this.upgradeRequested) return true;
      if (this.shuttingDown && !this.closed && !this.receivingMessage()) this.close('shutdown', Replies.shuttingDown);
      if (this.closed) return false;
      if (socket.writableLength > OUTPUT_HIGH_WATER_BYTES) {
        // A client that does not read its replies: stop reading until it does, so TCP holds it back.
        this.log.debug({ pendingBytes: socket.writableLength }, 'output backed up');
        await this.drained();
      }
    }
    return false;
  }

  /**
   * The TLS handshake on the current connection (RFC 3207 / RFC 8314). After
   * STARTTLS, whatever the client sent before the handshake is discarded
   * (CVE-2011-0411) and the session is back to its initial state (RFC 3207 §4.2).
   */
  private async startTls(): Promise<boolean> {
    this.upgradeRequested = false;
    this.reader = new CommandLineReader(MAX_READ_LINE_BYTES);
    const context = this.options.tlsContext();
    if (context === undefined) {
      this.end = 'tls-failed';
      return false;
    }
    // The context refuses TLS 1.2 renegotiation (SSL_OP_NO_RENEGOTIATION, config/tls-files.ts).
    const secure = new TLSSocket(this.socket, { isServer: true, secureContext: context });
    this.socket = secure;
    secure.on('error', (error) => this.log.debug({ err: error }, 'tls error'));
    const ok = await new Promise<boolean>((resolve) => {
      secure.once('secure', () => resolve(true));
      secure.once('error', () => resolve(false));
      secure.once('close', () => resolve(false));
    });
    if (!ok || this.closed) {
      this.log.info({ client: this.options.clientAddress }, 'tls handshake failed');
      this.end = this.closed ? this.end : 'tls-failed';
      return false;
    }
    this.tls = { protocol: secure.getProtocol() ?? 'TLS', cipher: secure.getCipher().name };
    this.options.observer?.tlsEstablished();
    this.state.helo = undefined;
    this.state.esmtp = false;
    this.state.transaction = undefined;
    this.log.debug({ tls: `${this.tls.protocol} ${this.tls.cipher}` }, 'tls established');
    this.deadline.command();
    return true;
  }

  /**
   * Shutdown: an idle session gets 421 4.3.2 at once; a busy one (mid-command
   * or mid-DATA) finishes what it is doing and then gets it.
   */
  shutdown(): void {
    this.shuttingDown = true;
    if (!this.busy && !this.receivingMessage() && !this.closed) {
      this.close('shutdown', Replies.shuttingDown);
      this.flush();
    }
  }

  /** Mid-DATA, or in a BDAT transaction (mid-chunk or between chunks): shutdown lets the message finish first. */
  private receivingMessage(): boolean {
    return this.receiver !== undefined || this.chunk !== undefined || this.chunked !== undefined;
  }

  /** Ends the connection at once, without a reply (after the shutdown grace period). */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private async consume(chunk: Buffer): Promise<void> {
    let data = chunk;
    while (data.length > 0 && !this.closed && !this.upgradeRequested) {
      if (this.receiver !== undefined) {
        data = await this.feedData(this.receiver, data);
        continue;
      }
      if (this.chunk !== undefined) {
        data = await this.feedChunk(this.chunk, data);
        continue;
      }
      const next = this.reader.next(data);
      if (next === undefined) return;
      data = next.rest;
      if (this.shuttingDown && !this.continuesChunkedMessage(next.line)) {
        this.close('shutdown', Replies.shuttingDown);
        return;
      }
      if (next.line.kind !== 'line') {
        // Refused whole, AUTH continuation lines included (the exchange is then over).
        this.log.info({ client: this.options.clientAddress, reason: next.line.kind, sasl: this.sasl !== undefined }, 'command line refused');
        this.sasl = undefined;
        this.sendCounted(LINE_REFUSALS[next.line.kind]);
      } else if (this.sasl !== undefined) {
        await this.saslLine(this.sasl, next.line.text.toString('utf8'));
      } else if (next.line.text.length + 2 > MAX_COMMAND_LINE_BYTES && !/^AUTH /i.test(next.line.text.toString('latin1', 0, 5))) {
        this.sendCounted(Replies.lineTooLong);
      } else {
        await this.command(next.line.text.toString('utf8'));
      }
      if (!this.closed && this.receiver === undefined && this.chunk === undefined) this.deadline.command();
    }
  }

  /** While shutting down, an open BDAT message may still get its chunks (it finishes like DATA does). */
  private continuesChunkedMessage(line: CommandLine): boolean {
    return this.chunked !== undefined && line.kind === 'line' && /^BDAT /i.test(line.text.toString('latin1', 0, 5));
  }

  private async command(line: string): Promise<void> {
    if (this.tracing) this.log.trace({ line: redactCommand(line) }, 'command');
    if (/^(MAIL|DATA)(\s|$)/i.test(line) || (this.chunked === undefined && /^BDAT(\s|$)/i.test(line))) await this.readFreeSpace();
    const outcome = handleCommand(line, this.state, this.context);
    if (this.chunked !== undefined) await this.settleChunkedMessage();
    switch (outcome.kind) {
      case 'reply': {
        const reason = rejectionReason(outcome.reply);
        if (reason !== undefined) this.options.observer?.messageRejected(reason);
        this.sendCounted(outcome.reply);
        return;
      }
      case 'close':
        this.close('quit', outcome.reply);
        return;
      case 'start-data':
        await this.startData(outcome.transaction);
        return;
      case 'chunk':
        await this.startChunk(outcome.plan);
        return;
      case 'starttls':
        this.send(Replies.readyToStartTls);
        this.upgradeRequested = true;
        return;
      case 'auth':
        if (this.authExchange === undefined) return;
        if (this.authExchange.lockedOut()) {
          this.close('auth-locked-out', Replies.authLockedOut);
          return;
        }
        this.authStep(await this.authExchange.start(outcome.argument));
        return;
      case 'verify-recipient':
        await this.verifyRecipient(outcome.recipient);
        return;
    }
  }

  /** RCPT waits for the verifier; the time counts against the command deadline, and replies stay in order. */
  private async verifyRecipient(recipient: Mailbox): Promise<void> {
    const verifier = this.options.recipientVerifier;
    const verification = verifier === undefined ? undefined : await verifier.verify(recipientToVerify(recipient));
    const transaction = this.state.transaction;
    if (this.closed || transaction === undefined) return;
    if (verification === undefined) {
      this.sendCounted(addRecipient(transaction, recipient));
      return;
    }
    const { decision, result, source, detail } = verification;
    const notable = result !== 'valid' && result !== 'unverifiable';
    this.log[notable ? 'info' : 'debug']({ client: this.options.clientAddress, rcpt: recipient.address, decision, result, source, detail: detail ?? null }, 'recipient verified');
    const refusal = verificationRefusal(recipient, verification);
    if (refusal === undefined) {
      this.sendCounted(addRecipient(transaction, recipient));
      return;
    }
    this.options.observer?.messageRejected(refusal.reason);
    this.sendCounted(refusal.reply);
  }

  /** Refreshes the free-space reading the MAIL and DATA handlers judge the disk reserve by; unknown when it fails. */
  private async readFreeSpace(): Promise<void> {
    const read = this.options.freeSpaceBytes;
    if (read === undefined) return;
    try {
      this.freeBytes = await read();
    } catch (error: unknown) {
      this.freeBytes = undefined;
      this.log.warn({ err: error }, 'cannot read spool free space');
    }
    if (this.freeBytes !== undefined && this.freeBytes < this.options.limits.minFreeBytes) {
      this.log.info({ freeBytes: this.freeBytes, minFreeBytes: this.options.limits.minFreeBytes }, 'spool disk below reserve');
    }
  }

  /** RFC 6409 §8: submission and smtps complete a message that lacks Date or Message-ID; mta never touches it. */
  private submissionFixes(): ((id: string) => SubmissionFixes) | undefined {
    if (this.options.mode === 'mta') return undefined;
    return (id) => ({ date: formatRfc5322DateMs(this.options.clock.now()), messageId: `<${id}@${this.options.hostname}>` });
  }

  private async saslLine(state: SaslState, line: string): Promise<void> {
    this.sasl = undefined;
    if (this.authExchange !== undefined) this.authStep(await this.authExchange.continue(state, line));
  }

  private authStep(step: AuthStep): void {
    switch (step.kind) {
      case 'challenge':
        this.sasl = step.state;
        this.send(step.reply);
        return;
      case 'authenticated':
        this.state.authenticatedUser = step.user;
        this.log.info({ client: this.options.clientAddress, user: step.user }, 'authenticated');
        this.send(step.reply);
        return;
      case 'failed':
        this.options.observer?.authFailed();
        this.log.warn({ client: this.options.clientAddress, user: step.user ?? null, lockedOut: step.close }, 'authentication failed');
        if (step.close) this.close('auth-locked-out', step.reply);
        else this.sendCounted(step.reply);
        return;
      case 'refused':
        this.sendCounted(step.reply);
        return;
    }
  }

  private async startData(transaction: Transaction): Promise<void> {
    const receiver = await this.openReceiver(transaction, new DataDecoder({ maxMessageBytes: this.options.limits.maxMessageBytes }));
    if (receiver === undefined) {
      this.send(Replies.localError);
      return;
    }
    this.receiver = receiver;
    const dataStartedAtMs = this.options.clock.now();
    this.send(Replies.startMailInput);
    this.flush();
    this.deadline.data(dataStartedAtMs, () => receiver.bytesReceived);
  }

  /** A spool file for the transaction's message, with our Received header; undefined when the spool fails. */
  private async openReceiver(transaction: Transaction, decoder: ContentDecoder): Promise<DataReceiver | undefined> {
    try {
      const authorized = this.options.clientTrusted || this.state.authenticatedUser !== null;
      const signer = authorized ? this.options.dkimSigner : undefined;
      const longLines = authorized ? 'repair' : 'refuse';
      const receiver = new DataReceiver(await this.options.spool.begin(), decoder, this.submissionFixes(), signer, longLines);
      await receiver.prepend(
        buildReceivedHeader({
          helo: this.state.helo ?? 'unknown',
          clientAddress: this.options.clientAddress,
          hostname: this.options.hostname,
          queueId: receiver.id,
          esmtp: this.state.esmtp,
          tls: this.tls,
          authenticated: this.state.authenticatedUser !== null,
          smtputf8: transaction.smtputf8,
          singleRecipient: transaction.recipients.length === 1 ? transaction.recipients[0]?.address : undefined,
          date: new Date(this.options.clock.now()),
        }),
      );
      return receiver;
    } catch (error: unknown) {
      this.log.error({ err: error }, 'cannot open a spool file');
      return undefined;
    }
  }

  /** Feeds DATA bytes; returns what follows the end-of-data marker (or nothing). */
  private async feedData(receiver: DataReceiver, data: Buffer): Promise<Buffer> {
    const step = await receiver.push(data);
    if (!step.done) return Buffer.alloc(0);
    const transaction = this.state.transaction;
    this.state.transaction = undefined;
    this.deadline.cancel();
    if (transaction === undefined) throw new Error('DATA without a transaction');
    await this.commitMessage(receiver, transaction);
    this.receiver = undefined;
    this.deadline.command();
    return step.rest;
  }

  /** The end of a message (the dot, or BDAT LAST): limits checked, then committed durably and answered. */
  private async commitMessage(receiver: DataReceiver, transaction: Transaction): Promise<void> {
    const result = await receiver.finish({
      from: transaction.sender?.address ?? '',
      recipients: transaction.recipients.map((recipient) => recipient.address),
      smtputf8: transaction.smtputf8,
      ...(transaction.requireTls ? { tlsRequirement: 'requiretls' as const } : {}),
      client: {
        address: this.options.clientAddress,
        helo: this.state.helo ?? '',
        listener: this.options.mode,
        tls: this.tls === null ? null : `${this.tls.protocol} ${this.tls.cipher}`,
        auth: this.state.authenticatedUser,
      },
    });
    if (result.kind === 'queued') {
      this.messagesQueued += 1;
      this.options.observer?.messageAccepted(this.options.mode);
      this.options.guards?.messageQueued?.(this.sender(this.state.authenticatedUser));
      const { record } = result;
      this.log.info(
        {
          qid: record.id,
          client: this.options.clientAddress,
          from: formatPath(transaction.sender),
          rcpts: record.recipients.map((r) => r.address),
          size: record.size,
          dkim: dkimLogField(result.dkim),
          ...(record.tlsRequirement === undefined ? {} : { tlsRequirement: record.tlsRequirement }),
          ...(result.longLines === undefined ? {} : { longLines: result.longLines }),
        },
        'message queued',
      );
      if (result.dkim?.kind === 'unsigned' && result.dkim.notable) this.log.info({ qid: record.id, reason: result.dkim.reason }, 'message not signed');
      this.send(result.reply);
    } else {
      this.messagesRejected += 1;
      this.options.observer?.messageRejected(result.reason);
      this.log.info({ qid: receiver.id, reason: result.reason, err: result.error, reply: replyText(result.reply) }, 'message rejected');
      this.sendCounted(result.reply);
    }
  }

  /** BDAT (RFC 3030 §2): starts reading the chunk's octets into the message, or to discard them under a refusal. */
  private async startChunk(plan: ChunkPlan): Promise<void> {
    if (plan.kind === 'close') {
      this.log.warn({ client: this.options.clientAddress, reason: plan.reason, reply: replyText(plan.reply) }, 'BDAT chunk not read, closing');
      this.countRejection(plan.reply);
      this.close('protocol-error', plan.reply);
      return;
    }
    let receiver: DataReceiver | undefined;
    if (plan.kind === 'take') {
      receiver = await this.chunkedReceiver();
      if (receiver === undefined) plan = refuseChunk(this.state, plan, Replies.localError, this.options.limits);
      if (plan.kind === 'close') {
        this.close('protocol-error', plan.reply);
        return;
      }
    }
    const chunk = new ChunkTransfer(plan, receiver);
    this.chunk = chunk;
    this.deadline.data(this.options.clock.now(), () => chunk.takenOctets);
    if (chunk.complete) await this.endChunk(chunk);
  }

  private countRejection(reply: Reply): void {
    const reason = rejectionReason(reply);
    if (reason !== undefined) this.options.observer?.messageRejected(reason);
  }

  /** The receiver of the BDAT message, opened at its first accepted chunk. */
  private async chunkedReceiver(): Promise<DataReceiver | undefined> {
    if (this.chunked !== undefined) return this.chunked.receiver;
    const transaction = this.state.transaction;
    if (transaction === undefined) throw new Error('BDAT chunk taken without a transaction');
    const receiver = await this.openReceiver(transaction, new ChunkDecoder({ maxMessageBytes: this.options.limits.maxMessageBytes }));
    if (receiver !== undefined) this.chunked = { transaction, receiver };
    return receiver;
  }

  /** Feeds BDAT octets; returns the bytes after the chunk (the next commands), or nothing. */
  private async feedChunk(chunk: ChunkTransfer, data: Buffer): Promise<Buffer> {
    const rest = await chunk.take(data);
    if (chunk.complete) await this.endChunk(chunk);
    return rest;
  }

  /** All of a chunk's octets are in: 250 for a chunk, the commit for LAST, or the refusal. */
  private async endChunk(chunk: ChunkTransfer): Promise<void> {
    this.chunk = undefined;
    this.deadline.cancel();
    const { plan } = chunk;
    if (plan.kind === 'discard') {
      if (!plan.firstRefusal) {
        this.send(plan.reply);
      } else {
        this.log.info({ client: this.options.clientAddress, reply: replyText(plan.reply) }, 'BDAT chunk refused');
        this.countRejection(plan.reply);
        this.sendCounted(plan.reply);
      }
    } else if (!plan.last) {
      this.send(withText(Replies.chunkReceived, `Ok: ${plan.sizeOctets} octets received`));
    } else {
      const open = this.chunked;
      const transaction = this.state.transaction;
      this.chunked = undefined;
      this.state.transaction = undefined;
      if (open === undefined || transaction !== open.transaction) throw new Error('BDAT LAST without its message');
      await open.receiver.end();
      await this.commitMessage(open.receiver, transaction);
    }
    if (!this.closed) this.deadline.command();
  }

  /** A BDAT message whose transaction was reset (RSET, EHLO, a refused LAST) or failed is dropped from the spool. */
  private async settleChunkedMessage(): Promise<void> {
    const open = this.chunked;
    if (open === undefined) return;
    if (this.state.transaction === open.transaction && open.transaction.chunking?.failure === undefined) return;
    this.chunked = undefined;
    await open.receiver.abandon();
  }

  /** Drops any message in progress (client vanished, timeout, shutdown, QUIT). */
  private async abandonData(): Promise<void> {
    const receivers = [this.receiver, this.chunked?.receiver];
    this.receiver = undefined;
    this.chunked = undefined;
    this.chunk = undefined;
    for (const receiver of receivers) if (receiver !== undefined) await receiver.abandon();
  }

  private send(r: Reply): void {
    if (this.closed) return;
    if (this.tracing) this.log.trace({ reply: replyText(r) }, 'reply');
    const text = formatReply(r);
    this.outbox.push(text);
    this.outboxChars += text.length;
  }

  /** Sends a reply; after too many errors, the session ends with 421. */
  private sendCounted(r: Reply): void {
    if (r.code >= 500) this.errors += 1;
    if (this.errors >= MAX_ERRORS) {
      this.send(r);
      this.close('too-many-errors', Replies.tooManyErrors);
      return;
    }
    this.send(r);
  }

  private flush(): void {
    if (this.outbox.length === 0 || this.socket.destroyed) return;
    if (this.tracing) this.log.trace({ replies: this.outbox.length }, 'replies written');
    this.socket.write(this.outbox.length === 1 ? (this.outbox[0] as string) : this.outbox.join(''));
    this.outbox = [];
    this.outboxChars = 0;
  }

  /**
   * True when the replies in hand may wait for the client's next input, which is already here (a
   * pipelined group that arrived in more than one read): RFC 2920 §3.2 lets a server hold replies
   * while it has input to process, never once the input runs dry. STARTTLS's reply never waits.
   */
  private moreInputWaiting(): boolean {
    return !this.upgradeRequested && !this.closed && this.outboxChars < MAX_HELD_REPLY_CHARS && this.socket.readableLength > 0;
  }

  private close(end: SessionEnd, last: Reply): void {
    if (this.closed) return;
    this.send(last);
    this.flush();
    this.closed = true;
    this.end = end;
    this.deadline.cancel();
    const { socket } = this;
    // A 'finish' listener, not an end() callback: run() usually destroys the socket before it
    // finishes, and a pending end() callback is then called with a new ERR_STREAM_DESTROYED error.
    socket.once('finish', () => socket.destroy());
    socket.end();
  }

  private drained(): Promise<void> {
    const { socket } = this;
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /**
   * Every relay-rule verdict with the client address it judged (behind a PROXY balancer, the proxied
   * one; the balancer is the `proxy` field of the session's logger): refusals at info, accepts at debug.
   */
  private logRelayDecision({ command, sender, recipient, verdict }: RelayDecision): void {
    const fields = {
      client: this.options.clientAddress,
      mode: this.options.mode,
      trusted: this.options.clientTrusted,
      user: this.state.authenticatedUser,
      command,
      from: formatPath(sender),
      ...(recipient === undefined ? {} : { rcpt: formatPath(recipient) }),
    };
    if (verdict.accept) this.log.debug(fields, 'relay accepted');
    else this.log.info({ ...fields, reason: verdict.reason }, 'relay refused');
  }

  private timeOut(r: Reply): void {
    this.log.info({ client: this.options.clientAddress }, r === Replies.dataTooSlow ? 'data rate too low' : 'command timeout');
    this.close('timeout', r);
  }

}

/** "d=example.org s=rsa-20261130,ed-20261130", "unsigned", or null when signing does not apply. */
function dkimLogField(outcome: SignOutcome | undefined): string | null {
  if (outcome === undefined) return null;
  return outcome.kind === 'signed' ? `d=${outcome.domain} s=${outcome.selectors.join(',')}` : 'unsigned';
}

/** Commands are traced, but never an AUTH secret. */
function redactCommand(line: string): string {
  return /^AUTH\s/i.test(line) ? line.split(' ').slice(0, 2).join(' ') + ' ***' : line;
}
