// The control channel between `outpost queue flush|delete|bounce` and a
// running `outpost serve`: one JSON request line, one JSON response line,
// over a Unix socket in the spool folder (reachable by the spool's owner only).

import { join } from 'node:path';
import { jsonObjectOf } from './json-line.js';

export type QueueAction = 'flush' | 'delete' | 'bounce';

export interface ControlRequest {
  readonly action: QueueAction;
  /** A message id; flush without one means every message. */
  readonly id?: string;
}

export type ControlResponse =
  | { readonly ok: true; readonly found: boolean }
  | { readonly ok: false; readonly error: string };

/** What the running server does for each action (the scheduler implements it). */
export interface QueueController {
  flush(id?: string): Promise<boolean>;
  deleteMessage(id: string): Promise<boolean>;
  bounceMessage(id: string): Promise<boolean>;
}

/** Longest request line accepted: the action and an id fit in far less. */
export const MAX_CONTROL_LINE_BYTES = 1024;

export function controlSocketPath(spoolDir: string): string {
  return join(spoolDir, 'control.sock');
}

export function parseControlRequest(line: string): ControlRequest | undefined {
  const value = jsonObjectOf(line);
  if (value === undefined) return undefined;
  const { action, id } = value as { action?: unknown; id?: unknown };
  if (action !== 'flush' && action !== 'delete' && action !== 'bounce') return undefined;
  if (id !== undefined && (typeof id !== 'string' || !/^[0-9A-Za-z]{1,64}$/.test(id))) return undefined;
  if (id === undefined && action !== 'flush') return undefined;
  return id === undefined ? { action } : { action, id };
}

export async function performAction(controller: QueueController, request: ControlRequest): Promise<boolean> {
  switch (request.action) {
    case 'flush':
      return controller.flush(request.id);
    case 'delete':
      return controller.deleteMessage(request.id ?? '');
    case 'bounce':
      return controller.bounceMessage(request.id ?? '');
  }
}
