// `outpost queue flush [ID] | delete ID | bounce ID`: sent to the running
// server over the control socket, so the scheduler stays the spool's only
// writer; with no server running, done here on the spool directly.

import type { Config } from '../config/types.js';
import { sendControlRequest } from '../control/control-client.js';
import { controlSocketPath, type QueueAction } from '../control/protocol.js';
import { offlineQueueController } from '../main.js';
import { createLogger } from '../observability/logger.js';
import type { Spool } from '../spool/spool.js';
import { EXIT_FAILURE, EXIT_OK, writeLine, type CliIo } from './io.js';

const DONE: Record<QueueAction, string> = {
  flush: 'scheduled for delivery now',
  delete: 'deleted',
  bounce: 'bounced (a delivery status notification goes to the sender unless it is <>)',
};

/** `openSpool` is called only when no server answers (it reads the whole queue log). */
export async function runQueueAction(config: Config, openSpool: () => Promise<Spool>, action: QueueAction, id: string | undefined, io: CliIo): Promise<number> {
  const request = id === undefined ? { action } : { action, id };
  const result = await sendControlRequest(controlSocketPath(config.spoolDir), request);
  let found: boolean;
  let where: string;
  if (result.kind === 'answered') {
    if (!result.response.ok) {
      writeLine(io.stderr, `outpost queue ${action}: the server says: ${result.response.error}`);
      return EXIT_FAILURE;
    }
    found = result.response.found;
    where = '';
  } else {
    const controller = offlineQueueController(config, await openSpool(), createLogger('warn', io.stderr));
    found = await (action === 'flush' ? controller.flush(id) : action === 'delete' ? controller.deleteMessage(id ?? '') : controller.bounceMessage(id ?? ''));
    where = action === 'delete' ? '' : ' (no server is running: delivery starts when outpost serve does)';
  }
  if (!found) {
    writeLine(io.stderr, `outpost queue ${action}: no message with id ${id ?? ''}`);
    return EXIT_FAILURE;
  }
  writeLine(io.stdout, `${id === undefined ? 'all messages' : id}: ${DONE[action]}${where}`);
  return EXIT_OK;
}
