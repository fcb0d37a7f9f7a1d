// Changes to the AUTH users file: one user line set or removed, other lines (users, comments)
// kept as they were, written atomically (temp file in the same folder, fsync, rename, fsync folder).

import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { syncFolder, writeSyncedTemp } from '../core/safe-file.js';
import { errnoCode, type ConfigError } from '../core/errors.js';
import { readUsersFile, type UsersText } from './users-file.js';

/** The users file holds password hashes: owner-only unless the operator chose a group mode. */
export const USERS_FILE_MODE = 0o600;

export type UsersFileChange =
  | { readonly kind: 'set'; readonly address: string; readonly hash: string }
  | { readonly kind: 'remove'; readonly address: string };

export type UsersFileUpdate =
  | { readonly ok: true; readonly outcome: 'added' | 'replaced' | 'removed' | 'absent' }
  | { readonly ok: false; readonly reason: 'unreadable'; readonly detail: string }
  | { readonly ok: false; readonly reason: 'invalid'; readonly problems: readonly ConfigError[] };

/** `text` with the line of `change.address` replaced, appended or dropped; `address` must be canonical. */
export function applyUsersChange(text: string, parsed: UsersText, change: UsersFileChange): string {
  const lines = text === '' ? [] : text.split('\n');
  const existing = parsed.users.get(change.address);
  if (change.kind === 'remove') {
    if (existing !== undefined) lines.splice(existing.line - 1, 1);
    return lines.join('\n');
  }
  const userLine = `${change.address}:${change.hash}`;
  if (existing !== undefined) {
    const old = lines[existing.line - 1] ?? '';
    lines[existing.line - 1] = old.endsWith('\r') ? `${userLine}\r` : userLine;
    return lines.join('\n');
  }
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return [...lines, userLine, ''].join('\n');
}

/**
 * Reads `path` (a missing file counts as empty), applies `change` and writes the result
 * atomically. A file with bad lines is left alone: the problems come back instead.
 */
export async function updateUsersFile(path: string, change: UsersFileChange): Promise<UsersFileUpdate> {
  const current = await readUsersFile(path);
  if (!current.readable && !current.missing) return { ok: false, reason: 'unreadable', detail: current.reason };
  const text = current.readable ? current.text : '';
  const parsed: UsersText = current.readable ? current.parsed : { users: new Map(), problems: [] };
  if (parsed.problems.length > 0) return { ok: false, reason: 'invalid', problems: parsed.problems };
  const known = parsed.users.has(change.address);
  if (change.kind === 'remove' && !known) return { ok: true, outcome: 'absent' };
  await writeFileAtomically(path, applyUsersChange(text, parsed, change), await keptMode(path));
  if (change.kind === 'remove') return { ok: true, outcome: 'removed' };
  return { ok: true, outcome: known ? 'replaced' : 'added' };
}

/** The existing file's mode with owner rw added and bits for others dropped; USERS_FILE_MODE for a new one. */
async function keptMode(path: string): Promise<number> {
  try {
    return ((await stat(path)).mode & 0o770) | USERS_FILE_MODE;
  } catch (error: unknown) {
    if (errnoCode(error) === 'ENOENT') return USERS_FILE_MODE;
    throw error;
  }
}

/** Replaces `path` with `text` so that readers see the old or the new file, never a partial one. */
export async function writeFileAtomically(path: string, text: string, mode: number): Promise<void> {
  const folder = dirname(path);
  const temporary = await writeSyncedTemp(folder, basename(path), text, mode);
  try {
    await rename(temporary, path);
  } catch (error: unknown) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncFolder(folder);
}
