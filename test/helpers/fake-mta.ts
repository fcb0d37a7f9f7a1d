// A scripted fake remote MTA for delivery tests: listens on 127.x.y.z:0,
// answers each command by default like a permissive server or as the test's
// script says, and records sessions, command chunks and received messages.
//
// Script handlers get the stage context and return an Action: a reply
// ("550 5.1.1 no such user", or an array of full lines for a multiline reply),
// 'disconnect' (drop the connection), 'silence' (never answer) or undefined
// (the default reply). Returning a promise delays the answer until it settles.
//
//   const mta = await FakeMta.start({
//     extensions: { size: 10_000_000 },
//     script: { rcpt: ({ argument }) => (argument === 'bad@x.test' ? '550 5.1.1 no such user' : undefined) },
//   });
//   ... deliver to mta.host:mta.port ...; await mta.waitForMessages(1);
//   mta.messages[0].data; mta.sessions[0].transactions; mta.maxConcurrentSessions; await mta.close();

import { createServer, type Server, type Socket } from 'node:net';
import { FakeConnection, type FakeMtaHost } from './fake-mta-connection.js';
import type { FakeMtaOptions, FakeSession, ReceivedMessage, Script } from './fake-mta-types.js';

export type { Action, FakeMtaOptions, FakeSession, ReceivedMessage, Script, Stage, StageContext } from './fake-mta-types.js';

export class FakeMta implements FakeMtaHost {
  readonly name: string;
  readonly script: Script;
  readonly tlsOptions: FakeMtaOptions['tls'];
  readonly sessions: FakeSession[] = [];
  readonly messages: ReceivedMessage[] = [];
  activeSessions = 0;
  maxConcurrentSessions = 0;
  readonly #extensions: NonNullable<FakeMtaOptions['extensions']>;
  readonly #server: Server;
  readonly #connections = new Set<FakeConnection>();
  #waiters: { readonly ready: () => boolean; readonly resolve: () => void }[] = [];

  private constructor(server: Server, options: FakeMtaOptions) {
    this.#server = server;
    this.name = options.name ?? 'fake-mta.test';
    this.script = options.script ?? {};
    this.tlsOptions = options.tls;
    this.#extensions = options.extensions ?? {};
  }

  static async start(options: FakeMtaOptions = {}): Promise<FakeMta> {
    const server = createServer();
    const mta = new FakeMta(server, options);
    server.on('connection', (socket) => mta.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    return mta;
  }

  get host(): string {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.address : '127.0.0.1';
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** The EHLO reply lines for this server. */
  ehloLines(tls: boolean): string[] {
    const keywords: string[] = [];
    if (this.#extensions.pipelining ?? true) keywords.push('PIPELINING');
    if (this.#extensions.size !== undefined) keywords.push(`SIZE ${this.#extensions.size}`);
    if (this.#extensions.eightBitMime ?? true) keywords.push('8BITMIME');
    if (this.#extensions.smtpUtf8 === true) keywords.push('SMTPUTF8');
    if (this.tlsOptions !== undefined && !tls) keywords.push('STARTTLS');
    if (this.#extensions.requireTls === true && tls) keywords.push('REQUIRETLS');
    const lines = [this.name, ...keywords];
    return lines.map((line, index) => `250${index === lines.length - 1 ? ' ' : '-'}${line}`);
  }

  /** A session received a command line (wakes `until` waiters that count commands). */
  commandReceived(): void {
    this.#notify();
  }

  record(message: ReceivedMessage): void {
    this.messages.push(message);
    this.#notify();
  }

  /** Resolves once `count` messages have been received. */
  waitForMessages(count: number): Promise<void> {
    return this.#waitFor(() => this.messages.length >= count);
  }

  /** Resolves once `count` sessions have been opened. */
  waitForSessions(count: number): Promise<void> {
    return this.#waitFor(() => this.sessions.length >= count);
  }

  /** Resolves once no session is open. */
  waitForIdle(): Promise<void> {
    return this.#waitFor(() => this.activeSessions === 0);
  }

  /** Resolves once `ready` holds, checked whenever a session opens or closes, a command or a message arrives. */
  until(ready: () => boolean): Promise<void> {
    return this.#waitFor(ready);
  }

  async close(): Promise<void> {
    for (const connection of this.#connections) connection.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    const session: FakeSession = { id: this.sessions.length + 1, commands: [], chunks: [], tls: false, transactions: 0, rsets: 0 };
    this.sessions.push(session);
    this.activeSessions += 1;
    this.maxConcurrentSessions = Math.max(this.maxConcurrentSessions, this.activeSessions);
    const connection = new FakeConnection(socket, session, this);
    this.#connections.add(connection);
    socket.once('close', () => {
      this.#connections.delete(connection);
      this.activeSessions -= 1;
      this.#notify();
    });
    this.#notify();
    void connection.start();
  }

  #waitFor(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ ready, resolve }));
  }

  #notify(): void {
    const done = this.#waiters.filter((waiter) => waiter.ready());
    this.#waiters = this.#waiters.filter((waiter) => !waiter.ready());
    for (const waiter of done) waiter.resolve();
  }
}
