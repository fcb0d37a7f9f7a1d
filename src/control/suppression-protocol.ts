// The suppression requests of the control channel (`outpost suppress list|add|remove`
// while a server runs): the server owns the list and writes its file, so no update is lost.

import type { SuppressionEntry } from '../suppression/list.js';
import { jsonObjectOf } from './json-line.js';

/** Entries as sent over the socket: times in ms since the epoch, null when unset. */
export interface SuppressionEntryView {
  readonly address: string;
  readonly failuresMs: readonly number[];
  readonly suppressedAtMs: number | null;
  readonly expiresAtMs: number | null;
  readonly source: string;
  readonly reply: string;
}

export type SuppressionRequest =
  | { readonly action: 'suppress-list' }
  | { readonly action: 'suppress-add' | 'suppress-remove'; readonly address: string };

export type SuppressionResponse =
  | { readonly ok: true; readonly found: boolean; readonly entries?: readonly SuppressionEntryView[] }
  | { readonly ok: false; readonly error: string };

/** What the running server does for each request. */
export interface SuppressionController {
  entries(): SuppressionEntryView[];
  /** False when the text is not an address. */
  add(address: string): Promise<boolean>;
  /** False when the address was not listed. */
  remove(address: string): Promise<boolean>;
}

/** Longest address accepted (RFC 5321 §4.5.3.1.3 path limit). */
const MAX_ADDRESS_CHARS = 256;

/** The request, or undefined when the line is not a suppression request. */
export function parseSuppressionRequest(line: string): SuppressionRequest | undefined {
  const value = jsonObjectOf(line);
  if (value === undefined) return undefined;
  const { action, address } = value as { action?: unknown; address?: unknown };
  if (action === 'suppress-list') return { action };
  if (action !== 'suppress-add' && action !== 'suppress-remove') return undefined;
  if (typeof address !== 'string' || address.length === 0 || address.length > MAX_ADDRESS_CHARS) return undefined;
  return { action, address };
}

export async function performSuppressionRequest(controller: SuppressionController, request: SuppressionRequest): Promise<SuppressionResponse> {
  switch (request.action) {
    case 'suppress-list':
      return { ok: true, found: true, entries: controller.entries() };
    case 'suppress-add':
      return { ok: true, found: await controller.add(request.address) };
    case 'suppress-remove':
      return { ok: true, found: await controller.remove(request.address) };
  }
}

/** The wire form of an entry. */
export function entryView(entry: SuppressionEntry): SuppressionEntryView {
  return {
    address: entry.address,
    failuresMs: entry.failuresMs,
    suppressedAtMs: entry.suppressedAtMs ?? null,
    expiresAtMs: entry.expiresAtMs ?? null,
    source: entry.source,
    reply: entry.reply,
  };
}
