// The spool layout before the queue log (state/<id>.json beside body/<id>):
// read at startup so such a spool keeps working, and removed once its
// messages are in the log (their bodies stay where they are, as files).

import { readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errnoCode } from '../core/errors.js';
import { unlinkIfPresent } from './io.js';
import { bodyPath, legacyStateFile, LEGACY_STATE_SUFFIX, type SpoolPaths } from './paths.js';
import { validateId } from './queue-id.js';
import { decodeRecord } from './record.js';
import type { EnvelopeRecord } from './types.js';

export interface LegacyMessage {
  readonly id: string;
  readonly record: EnvelopeRecord;
  readonly json: string;
  readonly bodySize: number;
}

export interface LegacyScan {
  readonly messages: LegacyMessage[];
  /** Ids of every state file seen (valid or not), to remove after migration. */
  readonly stateIds: string[];
  readonly tempFilesRemoved: number;
  readonly bodilessStatesRemoved: number;
}

const EMPTY: LegacyScan = { messages: [], stateIds: [], tempFilesRemoved: 0, bodilessStatesRemoved: 0 };

/** The old layout's valid messages; with `recover`, its temp files and bodiless state files are removed. */
export async function readLegacySpool(paths: SpoolPaths, logger: Logger, recover: boolean): Promise<LegacyScan> {
  let tempFilesRemoved = 0;
  if (recover) {
    const temps = await namesIn(paths.legacyTempFolder);
    for (const name of temps ?? []) await rm(`${paths.legacyTempFolder}/${name}`, { force: true, recursive: true });
    tempFilesRemoved = temps?.length ?? 0;
    if (temps !== undefined) await rmdir(paths.legacyTempFolder).catch(() => undefined);
  }
  const names = await namesIn(paths.legacyStateFolder);
  if (names === undefined) return { ...EMPTY, tempFilesRemoved };
  const stateIds = names
    .filter((name) => name.endsWith(LEGACY_STATE_SUFFIX))
    .map((name) => name.slice(0, -LEGACY_STATE_SUFFIX.length))
    .filter(validateId);
  const messages: LegacyMessage[] = [];
  let bodilessStatesRemoved = 0;
  for (const id of stateIds) {
    const json = await readFile(legacyStateFile(paths, id), 'utf8').catch(() => undefined);
    if (json === undefined) continue;
    const decoded = decodeRecord(json, id);
    if (!decoded.ok) {
      logger.error({ qid: id, problem: decoded.problem }, 'invalid state file skipped');
      continue;
    }
    const bodySize = await fileSize(bodyPath(paths, id));
    if (bodySize === undefined) {
      logger.warn({ qid: id }, 'state file without body removed');
      if (recover && (await unlinkIfPresent(legacyStateFile(paths, id)))) bodilessStatesRemoved += 1;
      continue;
    }
    messages.push({ id, record: decoded.record, json: JSON.stringify(decoded.record), bodySize });
  }
  return { messages, stateIds, tempFilesRemoved, bodilessStatesRemoved };
}

/** Removes the old layout's state files and folder (call once their messages are durable in the log). */
export async function removeLegacyState(paths: SpoolPaths, stateIds: readonly string[]): Promise<void> {
  for (const id of stateIds) await unlinkIfPresent(legacyStateFile(paths, id));
  const left = await namesIn(paths.legacyStateFolder);
  if (left !== undefined && left.length === 0) await rmdir(paths.legacyStateFolder).catch(() => undefined);
}

async function namesIn(folder: string): Promise<string[] | undefined> {
  try {
    return await readdir(folder);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}
