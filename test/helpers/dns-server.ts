// In-process authoritative DNS server for tests (UDP and TCP on one port of
// 127.0.0.1), fed from a zones table, with per-name fault modes to exercise the
// resolver's defences. Responses are built with dns-packet.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, Packet, Question } from 'dns-packet';
import { systemClock, type Clock } from '../../src/core/clock.js';
import { buildAnswer, type Transport, type Zones, type DnsFault } from './dns-zone-answers.js';

export type { Zones, ZoneEntry, DnsFault } from './dns-zone-answers.js';

export interface LoggedQuery {
  readonly name: string;
  readonly type: string;
  readonly transport: Transport;
  readonly id: number;
  readonly sourcePort: number;
  readonly flags: number;
  readonly edns: boolean;
  /** The EDNS DO bit (RFC 3225): the client asked for DNSSEC records. */
  readonly dnssecOk: boolean;
}

export interface DnsServerOptions {
  zones: Zones;
  /** Fault modes keyed by lowercase owner name. */
  faults?: Record<string, DnsFault>;
  /** Drives the `slow` fault; default the system clock. */
  clock?: Clock;
  /** SOA MINIMUM and TTL of synthesized SOAs in negative answers; default 60. */
  negativeTtlSeconds?: number;
  /**
   * Answer like a validating resolver whose data is secure: the AD flag on answers to queries
   * with AD or DO (RFC 6840 §5.7); default false. A zone entry's `secure` overrides it per name.
   */
  authenticated?: boolean;
}

export interface TestDnsServer {
  readonly address: string;
  readonly port: number;
  /** Every query received, in order. */
  readonly queries: LoggedQuery[];
  /** Replace zones/faults while running. */
  zones: Zones;
  faults: Record<string, DnsFault>;
  /** Resolves once `count` queries (for `name`, if given) have been received. */
  waitForQueries(count: number, name?: string): Promise<void>;
  close(): Promise<void>;
}

const ADDRESS = '127.0.0.1';

function listenUdp(socket: Socket, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onError = (): void => resolve(false);
    socket.once('error', onError);
    socket.bind(port, ADDRESS, () => {
      socket.off('error', onError);
      resolve(true);
    });
  });
}

function listenTcp(server: Server, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onError = (): void => resolve(false);
    server.once('error', onError);
    server.listen(port, ADDRESS, () => {
      server.off('error', onError);
      resolve(true);
    });
  });
}

function frame(packet: Buffer): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(packet.length);
  return Buffer.concat([prefix, packet]);
}

export async function startDnsServer(options: DnsServerOptions): Promise<TestDnsServer> {
  const clock = options.clock ?? systemClock;
  const queries: LoggedQuery[] = [];
  let waiters: { count: number; name: string | undefined; resolve: () => void }[] = [];
  const counted = (name: string | undefined): number => queries.filter((query) => name === undefined || query.name === name).length;
  const wake = (): void => {
    const ready = waiters.filter((waiter) => counted(waiter.name) >= waiter.count);
    waiters = waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  };
  const tcpSockets = new Set<TcpSocket>();
  const forger = createSocket('udp4');
  await listenUdp(forger, 0);
  let udp = createSocket('udp4');
  const tcp = createServer();
  for (let attempt = 0; ; attempt += 1) {
    if (!(await listenUdp(udp, 0))) throw new Error('cannot bind UDP');
    if (await listenTcp(tcp, udp.address().port)) break;
    udp.close();
    udp = createSocket('udp4');
    if (attempt > 20) throw new Error('cannot bind TCP and UDP on one port');
  }
  const server: TestDnsServer = {
    address: ADDRESS,
    port: udp.address().port,
    queries,
    zones: options.zones,
    faults: options.faults ?? {},
    waitForQueries: (count, name) =>
      new Promise<void>((resolve) => {
        waiters.push({ count, name: name?.toLowerCase(), resolve });
        wake();
      }),
    close: async () => {
      for (const socket of tcpSockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => forger.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };

  const handle = (raw: Buffer, transport: Transport, sourcePort: number, send: (packet: Buffer) => void, sendForged: (packet: Buffer) => void): void => {
    let query: Packet;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      return;
    }
    const question: Question | undefined = query.questions?.[0];
    if (question === undefined) return;
    const opt = (query.additionals ?? []).find((record: Answer) => record.type === 'OPT');
    const edns = opt !== undefined;
    const dnssecOk = opt?.type === 'OPT' && opt.flag_do === true;
    queries.push({ name: question.name.toLowerCase(), type: question.type, transport, id: query.id ?? 0, sourcePort, flags: query.flags ?? 0, edns, dnssecOk });
    wake();
    const plan = buildAnswer({
      query,
      question,
      transport,
      zones: server.zones,
      faults: server.faults,
      negativeTtlSeconds: options.negativeTtlSeconds ?? 60,
      authenticated: options.authenticated ?? false,
      edns,
      dnssecOk,
    });
    for (const forged of plan.forged) (forged.fromOtherPort ? sendForged : send)(forged.packet);
    if (plan.reply === undefined) return;
    const reply = plan.reply;
    if (plan.delayMs > 0) clock.setTimer(plan.delayMs, () => send(reply));
    else send(reply);
  };

  udp.on('message', (raw: Buffer, remote: RemoteInfo) => {
    const send = (packet: Buffer): void => udp.send(packet, remote.port, remote.address);
    const sendForged = (packet: Buffer): void => forger.send(packet, remote.port, remote.address);
    handle(raw, 'udp', remote.port, send, sendForged);
  });
  tcp.on('connection', (socket: TcpSocket) => {
    tcpSockets.add(socket);
    socket.on('close', () => tcpSockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        const send = (packet: Buffer): void => {
          if (!socket.destroyed) socket.write(frame(packet));
        };
        handle(message, 'tcp', socket.remotePort ?? 0, send, send);
      }
    });
  });
  return server;
}

/** The name the brief uses: start({ zones, faults }). */
export const start = startDnsServer;
