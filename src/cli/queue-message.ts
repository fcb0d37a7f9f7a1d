// One queued message for `outpost queue show ID` and `queue why ID`: asked of
// a running server over the control socket (from its index, no scan of the
// queue log), else read from the log here.

import type { Config } from '../config/types.js';
import { errnoCode, OutpostError } from '../core/errors.js';
import { sendControlRequest } from '../control/control-client.js';
import { controlSocketPath } from '../control/protocol.js';
import type { MessageRequest, MessageResponse } from '../control/show-protocol.js';
import type { Spool } from '../spool/spool.js';
import type { EnvelopeRecord } from '../spool/types.js';

export interface QueuedMessage {
  readonly record: EnvelopeRecord;
  /** The header section (up to the bytes asked for); '' when none was asked for. */
  readonly headers: string;
}

/** The message, or undefined when there is none; `openSpool` is called only when no server answers. */
export async function readQueuedMessage(config: Config, openSpool: () => Promise<Spool>, id: string, headerBytes?: number): Promise<QueuedMessage | undefined> {
  const request: MessageRequest = headerBytes === undefined ? { action: 'queue-message', id } : { action: 'queue-message', id, headerBytes };
  // EACCES: a user who may read the spool but not reach the server reads the log, as before.
  const result = await sendControlRequest<MessageRequest, MessageResponse>(controlSocketPath(config.spoolDir), request).catch((error: unknown) => {
    if (errnoCode(error) === 'EACCES') return { kind: 'no-server' } as const;
    throw error;
  });
  if (result.kind === 'answered') {
    const { response } = result;
    if (response.ok) return response.found ? { record: response.record, headers: response.headers ?? '' } : undefined;
    // An older server does not know the request: read the log as it did.
    if (response.error !== 'malformed request') throw new OutpostError('ECONTROL', `the server says: ${response.error}`);
  }
  const spool = await openSpool();
  const record = await spool.read(id);
  if (record === undefined) return undefined;
  return { record, headers: headerBytes === undefined ? '' : await spool.readHeaders(id, headerBytes) };
}
