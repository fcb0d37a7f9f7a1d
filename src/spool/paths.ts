// The spool's folder layout: body/<id> holds the message, state/<id>.json the
// envelope record whose presence means "queued", tmp/ the files being written.

import { join } from 'node:path';

export const STATE_SUFFIX = '.json';

export interface SpoolPaths {
  readonly root: string;
  readonly bodyFolder: string;
  readonly stateFolder: string;
  readonly tempFolder: string;
}

export function spoolPaths(root: string): SpoolPaths {
  return {
    root,
    bodyFolder: join(root, 'body'),
    stateFolder: join(root, 'state'),
    tempFolder: join(root, 'tmp'),
  };
}

export function bodyFile(paths: SpoolPaths, id: string): string {
  return join(paths.bodyFolder, id);
}

export function stateFile(paths: SpoolPaths, id: string): string {
  return join(paths.stateFolder, `${id}${STATE_SUFFIX}`);
}

/** A temp file name unique within the spool: the id plus a random tag. */
export function tempFile(paths: SpoolPaths, id: string, tag: string): string {
  return join(paths.tempFolder, `${id}.${tag}${STATE_SUFFIX}`);
}

/** A replacement body being written (see MessageWriter.rewriteBody); renamed over body/<id> at commit. */
export function tempBodyFile(paths: SpoolPaths, id: string, tag: string): string {
  return join(paths.tempFolder, `${id}.${tag}.body`);
}
