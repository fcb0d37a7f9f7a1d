// One connection of the fake MTA: reads commands (and DATA up to the final
// dot, RFC 5321 §4.1.1.4), answers by script or default, upgrades to TLS on
// STARTTLS, and hands completed messages to its server.

import type { Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import type { Action, FakeMtaOptions, FakeSession, ReceivedMessage, Script, Stage } from './fake-mta-types.js';

/** What a connection needs from its server. */
export interface FakeMtaHost {
  readonly name: string;
  readonly script: Script;
  readonly tlsOptions: FakeMtaOptions['tls'];
  readonly messages: readonly ReceivedMessage[];
  ehloLines(tls: boolean): string[];
  record(message: ReceivedMessage): void;
  commandReceived(): void;
}

const CRLF = Buffer.from('\r\n');
const END_OF_DATA = Buffer.from('\r\n.\r\n');

/** Removes one leading "." from every line (RFC 5321 §4.5.2). */
function unstuff(content: Buffer): Buffer {
  const pieces: Buffer[] = [];
  let start = 0;
  while (start < content.length) {
    const lf = content.indexOf(0x0a, start);
    const end = lf === -1 ? content.length : lf + 1;
    pieces.push(content.subarray(content[start] === 0x2e ? start + 1 : start, end));
    start = end;
  }
  return Buffer.concat(pieces);
}

function pathArgument(text: string): { address: string; params: string } {
  const match = /^[A-Za-z ]+:\s*<([^>]*)>\s*(.*)$/.exec(text);
  return match === null ? { address: text, params: '' } : { address: match[1] ?? '', params: match[2] ?? '' };
}

export class FakeConnection {
  #socket: Socket;
  #buffer = Buffer.alloc(0);
  #mode: 'command' | 'data' = 'command';
  #busy = false;
  #closed = false;
  #bodyNotified = false;
  #from: string | undefined;
  #mailParams = '';
  #recipients: string[] = [];
  readonly #onData = (chunk: Buffer): void => this.#receive(chunk);

  constructor(socket: Socket, readonly session: FakeSession, private readonly mta: FakeMtaHost) {
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.on('error', () => undefined);
  }

  async start(): Promise<void> {
    const action = await this.#scripted('greeting', '');
    this.#act(action, [`220 ${this.mta.name} ESMTP fake`]);
  }

  destroy(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #receive(chunk: Buffer): void {
    if (this.#mode === 'command') this.session.chunks.push(chunk.toString('latin1'));
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (!this.#closed) {
        if (this.#mode === 'data') {
          if (!(await this.#takeData())) break;
          continue;
        }
        const lf = this.#buffer.indexOf(0x0a);
        if (lf === -1) break;
        const line = this.#buffer.subarray(0, lf).toString('utf8').replace(/\r$/, '');
        this.#buffer = this.#buffer.subarray(lf + 1);
        this.session.commands.push(line);
        this.mta.commandReceived();
        await this.#command(line);
      }
    } finally {
      this.#busy = false;
    }
  }

  /** In DATA mode: reports the first body bytes to the script, then waits for the end marker. */
  async #takeData(): Promise<boolean> {
    if (this.#buffer.length > 0 && !this.#bodyNotified) {
      this.#bodyNotified = true;
      const action = await this.#scripted('body', '');
      if (action === 'disconnect') {
        this.destroy();
        return false;
      }
    }
    const framed = Buffer.concat([CRLF, this.#buffer]);
    const end = framed.indexOf(END_OF_DATA);
    if (end === -1) return false;
    const wireData = framed.subarray(2, end + 2);
    this.#buffer = framed.subarray(end + END_OF_DATA.length);
    this.#mode = 'command';
    const action = await this.#scripted('dataDone', '');
    const sent = this.#act(action, [`250 2.0.0 Ok: queued as ${this.mta.messages.length + 1}`]);
    if (sent !== undefined && sent.startsWith('2')) {
      this.session.transactions += 1;
      this.mta.record({ sessionId: this.session.id, from: this.#from ?? '', mailParams: this.#mailParams, recipients: [...this.#recipients], data: unstuff(wireData), wireData: Buffer.from(wireData), tls: this.session.tls });
    }
    this.#resetTransaction();
    return true;
  }

  async #command(line: string): Promise<void> {
    const verb = (/^[A-Za-z]+/.exec(line)?.[0] ?? '').toUpperCase();
    const argument = line.slice(verb.length).trim();
    switch (verb) {
      case 'EHLO':
        return void this.#act(await this.#scripted('ehlo', argument), this.mta.ehloLines(this.session.tls));
      case 'HELO':
        return void this.#act(await this.#scripted('helo', argument), [`250 ${this.mta.name}`]);
      case 'STARTTLS':
        return this.#startTls(await this.#scripted('starttls', ''));
      case 'MAIL': {
        const { address, params } = pathArgument(line);
        if (this.#act(await this.#scripted('mail', address), ['250 2.1.0 Ok'])?.startsWith('2')) {
          this.#from = address;
          this.#mailParams = params;
        }
        return;
      }
      case 'RCPT': {
        const { address } = pathArgument(line);
        const fallback = this.#from === undefined ? ['503 5.5.1 Need MAIL first'] : ['250 2.1.5 Ok'];
        if (this.#act(await this.#scripted('rcpt', address), fallback)?.startsWith('2') && this.#from !== undefined) this.#recipients.push(address);
        return;
      }
      case 'DATA': {
        const fallback = this.#recipients.length === 0 ? ['554 5.5.1 No valid recipients'] : ['354 End data with <CR><LF>.<CR><LF>'];
        if (this.#act(await this.#scripted('data', ''), fallback)?.startsWith('354')) {
          this.#mode = 'data';
          this.#bodyNotified = false;
        }
        return;
      }
      case 'RSET':
        this.session.rsets += 1;
        this.#resetTransaction();
        return void this.#act(await this.#scripted('rset', ''), ['250 2.0.0 Ok']);
      case 'NOOP':
        return void this.#act(await this.#scripted('noop', ''), ['250 2.0.0 Ok']);
      case 'QUIT':
        this.#act(await this.#scripted('quit', ''), ['221 2.0.0 Bye']);
        this.#closed = true;
        this.#socket.end();
        return;
      default:
        this.#write(['502 5.5.2 Command not recognized']);
    }
  }

  #startTls(action: Action): void {
    const tls = this.mta.tlsOptions;
    const fallback = tls === undefined || this.session.tls ? ['454 4.7.0 TLS not available'] : ['220 2.0.0 Ready to start TLS'];
    const sent = this.#act(action, fallback, tls?.injectAfterReady);
    if (sent === undefined || !sent.startsWith('220') || tls === undefined) return;
    this.#socket.off('data', this.#onData);
    this.#buffer = Buffer.alloc(0);
    this.#resetTransaction();
    if (tls.breakHandshake === true) {
      this.#socket.end('this is not a TLS handshake\r\n');
      this.#closed = true;
      return;
    }
    const secure = new TLSSocket(this.#socket, { isServer: true, secureContext: createSecureContext({ key: tls.key, cert: tls.cert }) });
    secure.on('error', () => undefined);
    secure.once('secure', () => {
      if (typeof secure.servername === 'string') this.session.servername = secure.servername;
    });
    secure.on('data', this.#onData);
    this.#socket = secure;
    this.session.tls = true;
  }

  /** Carries out an action (or the fallback reply); returns the last reply line written, if any. */
  #act(action: Action, fallback: readonly string[], extra?: string): string | undefined {
    if (action === 'disconnect') {
      this.destroy();
      return undefined;
    }
    if (action === 'silence') return undefined;
    const lines = action === undefined ? fallback : typeof action === 'string' ? [action] : action;
    this.#write(lines, extra);
    return lines[lines.length - 1];
  }

  #write(lines: readonly string[], extra = ''): void {
    if (!this.#closed) this.#socket.write(lines.map((line) => `${line}\r\n`).join('') + extra);
  }

  #scripted(stage: Stage, argument: string): Action | Promise<Action> {
    return this.mta.script[stage]?.({ session: this.session, argument, from: this.#from, recipients: [...this.#recipients] });
  }

  #resetTransaction(): void {
    this.#from = undefined;
    this.#mailParams = '';
    this.#recipients = [];
  }
}

