// Startup recovery (STYLE.md §9): removes partial files left by a crash —
// everything in tmp/, bodies without a state file, state files without a body
// (a commit that never acknowledged) — and reports what it removed.

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { unlinkIfPresent } from './io.js';
import { bodyFile, stateFile, STATE_SUFFIX, type SpoolPaths } from './paths.js';
import { validateId } from './queue-id.js';

export interface RecoveryReport {
  readonly tempFilesRemoved: number;
  readonly orphanBodiesRemoved: number;
  readonly bodilessStatesRemoved: number;
}

export async function recoverSpool(paths: SpoolPaths, logger: Logger): Promise<RecoveryReport> {
  const tempNames = await readdir(paths.tempFolder);
  for (const name of tempNames) await rm(join(paths.tempFolder, name), { force: true, recursive: true });

  const stateIds = new Set(stateIdsIn(await readdir(paths.stateFolder)));
  const bodyIds = new Set((await readdir(paths.bodyFolder)).filter(validateId));

  let orphanBodiesRemoved = 0;
  for (const id of bodyIds) {
    if (stateIds.has(id)) continue;
    if (await unlinkIfPresent(bodyFile(paths, id))) orphanBodiesRemoved += 1;
  }
  let bodilessStatesRemoved = 0;
  for (const id of stateIds) {
    if (bodyIds.has(id)) continue;
    logger.warn({ qid: id }, 'state file without body removed');
    if (await unlinkIfPresent(stateFile(paths, id))) bodilessStatesRemoved += 1;
  }
  const report = { tempFilesRemoved: tempNames.length, orphanBodiesRemoved, bodilessStatesRemoved };
  logger.info({ ...report, queued: stateIds.size - bodilessStatesRemoved }, 'spool recovered');
  return report;
}

/** Ids of the state files among folder entries; other names are ignored. */
export function stateIdsIn(names: readonly string[]): string[] {
  return names
    .filter((name) => name.endsWith(STATE_SUFFIX))
    .map((name) => name.slice(0, -STATE_SUFFIX.length))
    .filter(validateId);
}
