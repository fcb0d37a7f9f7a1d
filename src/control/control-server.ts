// Serves the control channel (protocol.ts) for a running relay: queue
// actions from the CLI go through the scheduler, the spool's only writer;
// `queue list` is streamed from the server's own spool index (list-stream.ts).

import { createServer, type Server, type Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { errnoCode, OutpostError } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import { parseSuppressionRequest, performSuppressionRequest, type SuppressionController, type SuppressionRequest, type SuppressionResponse } from './suppression-protocol.js';
import { parseProviderStateRequest, type ProviderStateSource } from './provider-protocol.js';
import { MAX_CONTROL_LINE_BYTES, parseControlRequest, performAction, type ControlResponse, type QueueController } from './protocol.js';
import { isQueueListRequest } from './list-protocol.js';
import { streamQueueList } from './list-stream.js';
import { parseMessageRequest, performMessageRequest, type MessageResponse, type MessageSource } from './show-protocol.js';
import type { EnvelopeRecord } from '../spool/types.js';

/** The spool as the queue views read it (main.ts hands the Spool itself). */
export interface QueueReader extends MessageSource {
  /** Every queued message, oldest arrival first, streamed. */
  records(): AsyncIterable<EnvelopeRecord>;
}

export class ControlServer {
  private readonly server: Server;
  private readonly log: Logger;
  /** Connections streaming a queue list: cut at close, so a slow reader never holds the shutdown. */
  private readonly listing = new Map<Socket, Promise<void>>();

  constructor(
    private readonly socketPath: string,
    private readonly controller: QueueController,
    logger: Logger,
    private readonly suppression?: SuppressionController,
    private readonly providers?: ProviderStateSource,
    private readonly reader?: QueueReader,
  ) {
    this.log = logger.child({ component: 'control' });
    this.server = createServer((socket) => this.serve(socket));
  }

  /** Listens on the socket path; a stale socket file from a crash is replaced. */
  async start(): Promise<void> {
    await unlink(this.socketPath).catch((error: unknown) => {
      if (errnoCode(error) !== 'ENOENT') throw error;
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error) => reject(new OutpostError('ECONTROL', `cannot listen on ${this.socketPath}: ${String(error)}`, { cause: error })));
      this.server.listen(this.socketPath, () => resolve());
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.listing.keys()) socket.destroy();
    // A cut list stops at its next record, before the spool closes under it.
    await Promise.all([closed, ...this.listing.values()]);
    await unlink(this.socketPath).catch(() => undefined);
  }

  private serve(socket: Socket): void {
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    let buffer = '';
    const onData = (text: string): void => {
      buffer += text;
      const newline = buffer.indexOf('\n');
      if (newline === -1 && buffer.length <= MAX_CONTROL_LINE_BYTES) return;
      socket.off('data', onData);
      void this.answer(socket, newline === -1 ? undefined : buffer.slice(0, newline));
    };
    socket.on('data', onData);
  }

  private async answer(socket: Socket, line: string | undefined): Promise<void> {
    if (line !== undefined && this.reader !== undefined && isQueueListRequest(line)) {
      const listed = this.answerList(socket, this.reader);
      this.listing.set(socket, listed);
      await listed;
      this.listing.delete(socket);
      return;
    }
    const messageRequest = line === undefined || this.reader === undefined ? undefined : parseMessageRequest(line);
    if (messageRequest !== undefined && this.reader !== undefined) {
      let response: MessageResponse;
      try {
        response = await performMessageRequest(this.reader, messageRequest);
        this.log.debug({ qid: messageRequest.id, found: response.ok && response.found }, 'queue message read');
      } catch (error: unknown) {
        this.log.error({ qid: messageRequest.id, err: error }, 'queue message read failed');
        response = { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
      socket.end(`${JSON.stringify(response)}\n`);
      return;
    }
    const suppressionRequest = line === undefined || this.suppression === undefined ? undefined : parseSuppressionRequest(line);
    if (suppressionRequest !== undefined && this.suppression !== undefined) {
      socket.end(`${JSON.stringify(await this.answerSuppression(this.suppression, suppressionRequest))}\n`);
      return;
    }
    const providerRequest = line === undefined || this.providers === undefined ? undefined : parseProviderStateRequest(line);
    if (providerRequest !== undefined && this.providers !== undefined) {
      const source = this.providers;
      socket.end(`${JSON.stringify({ ok: true, providers: providerRequest.providers.map((name) => source(name)) })}\n`);
      return;
    }
    const request = line === undefined ? undefined : parseControlRequest(line);
    let response: ControlResponse;
    if (request === undefined) {
      response = { ok: false, error: 'malformed request' };
    } else {
      try {
        const found = await performAction(this.controller, request);
        this.log.info({ action: request.action, qid: request.id ?? null, found }, 'queue action');
        response = { ok: true, found };
      } catch (error: unknown) {
        this.log.error({ action: request.action, qid: request.id ?? null, err: error }, 'queue action failed');
        response = { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    }
    socket.end(`${JSON.stringify(response)}\n`);
  }

  private async answerList(socket: Socket, reader: QueueReader): Promise<void> {
    const startedMs = performance.now();
    try {
      const { count, complete } = await streamQueueList(socket, () => reader.records());
      this.log.info({ count, complete, ms: Math.round(performance.now() - startedMs) }, complete ? 'queue list served' : 'queue list cut off');
    } catch (error: unknown) {
      this.log.error({ err: error }, 'queue list failed');
    }
  }

  private async answerSuppression(controller: SuppressionController, request: SuppressionRequest): Promise<SuppressionResponse> {
    try {
      return await performSuppressionRequest(controller, request);
    } catch (error: unknown) {
      this.log.error({ action: request.action, err: error }, 'suppression action failed');
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
