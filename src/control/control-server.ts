// Serves the control channel (protocol.ts) for a running relay: queue
// actions from the CLI go through the scheduler, the spool's only writer.

import { createServer, type Server, type Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import { errnoCode, OutpostError } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import { parseSuppressionRequest, performSuppressionRequest, type SuppressionController, type SuppressionRequest, type SuppressionResponse } from './suppression-protocol.js';
import { parseProviderStateRequest, type ProviderStateSource } from './provider-protocol.js';
import { MAX_CONTROL_LINE_BYTES, parseControlRequest, performAction, type ControlResponse, type QueueController } from './protocol.js';

export class ControlServer {
  private readonly server: Server;
  private readonly log: Logger;

  constructor(
    private readonly socketPath: string,
    private readonly controller: QueueController,
    logger: Logger,
    private readonly suppression?: SuppressionController,
    private readonly providers?: ProviderStateSource,
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
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
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

  private async answerSuppression(controller: SuppressionController, request: SuppressionRequest): Promise<SuppressionResponse> {
    try {
      return await performSuppressionRequest(controller, request);
    } catch (error: unknown) {
      this.log.error({ action: request.action, err: error }, 'suppression action failed');
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
