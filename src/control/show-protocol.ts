// The message request of the control channel (`outpost queue show ID` and
// `queue why ID` while a server runs): one message's record, and its header
// section when asked, from the server's spool index: no scan of the queue log.

import { validateId } from '../spool/queue-id.js';
import type { EnvelopeRecord } from '../spool/types.js';
import { jsonObjectOf } from './json-line.js';

export interface MessageRequest {
  readonly action: 'queue-message';
  readonly id: string;
  /** Bytes of the header section wanted; absent: none. */
  readonly headerBytes?: number;
}

export type MessageResponse =
  | { readonly ok: true; readonly found: false }
  | { readonly ok: true; readonly found: true; readonly record: EnvelopeRecord; readonly headers: string | null }
  | { readonly ok: false; readonly error: string };

/** What the running server reads from (main.ts hands it the spool). */
export interface MessageSource {
  read(id: string): Promise<EnvelopeRecord | undefined>;
  readHeaders(id: string, maxBytes?: number): Promise<string>;
}

/** Largest header section sent: what `queue show` displays at most. */
export const MAX_HEADER_BYTES = 64 * 1024;

/** The request, or undefined when the line is not a message request. */
export function parseMessageRequest(line: string): MessageRequest | undefined {
  const value = jsonObjectOf(line);
  if (value === undefined) return undefined;
  const { action, id, headerBytes } = value as { action?: unknown; id?: unknown; headerBytes?: unknown };
  if (action !== 'queue-message' || typeof id !== 'string' || !validateId(id)) return undefined;
  if (headerBytes === undefined) return { action, id };
  if (typeof headerBytes !== 'number' || !Number.isSafeInteger(headerBytes) || headerBytes < 0 || headerBytes > MAX_HEADER_BYTES) return undefined;
  return { action, id, headerBytes };
}

export async function performMessageRequest(source: MessageSource, request: MessageRequest): Promise<MessageResponse> {
  const record = await source.read(request.id);
  if (record === undefined) return { ok: true, found: false };
  const headers = request.headerBytes === undefined ? null : await source.readHeaders(request.id, request.headerBytes);
  return { ok: true, found: true, record, headers };
}
