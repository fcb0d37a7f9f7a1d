// The spool's folder layout: log/ holds the queue log's segment files (see
// log-format.ts), body/ the bodies too large to go inline. state/ and tmp/
// belong to the layout before the log (one state file per message), read and
// migrated at startup.

import { join } from 'node:path';

export const LEGACY_STATE_SUFFIX = '.json';

export interface SpoolPaths {
  readonly root: string;
  readonly logFolder: string;
  readonly bodyFolder: string;
  /** Old layout: state/<id>.json, one record per message. */
  readonly legacyStateFolder: string;
  /** Old layout: files being written. */
  readonly legacyTempFolder: string;
}

export function spoolPaths(root: string): SpoolPaths {
  return {
    root,
    logFolder: join(root, 'log'),
    bodyFolder: join(root, 'body'),
    legacyStateFolder: join(root, 'state'),
    legacyTempFolder: join(root, 'tmp'),
  };
}

export function bodyPath(paths: SpoolPaths, file: string): string {
  return join(paths.bodyFolder, file);
}

export function legacyStateFile(paths: SpoolPaths, id: string): string {
  return join(paths.legacyStateFolder, `${id}${LEGACY_STATE_SUFFIX}`);
}
