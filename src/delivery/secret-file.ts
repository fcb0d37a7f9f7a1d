// Secrets kept in files (Docker secrets): read at use time so a rotated file
// takes effect on the next session, with trailing line ends stripped and a
// size cap. What comes back on failure is a reason that never holds the secret.

import { open } from 'node:fs/promises';
import { errnoCode } from '../core/errors.js';

/** Longest secret file read (OAuth2 access tokens run to a few KB). */
export const MAX_SECRET_BYTES = 64 * 1024;

export type SecretRead = { readonly ok: true; readonly secret: string } | { readonly ok: false; readonly reason: string };

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder, not a file',
};

/** The file's text without trailing CR/LF; an empty or oversized file is a failure. */
export async function readSecretFile(path: string): Promise<SecretRead> {
  let text: string;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(MAX_SECRET_BYTES + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        length += bytesRead;
        if (bytesRead === 0 || length === buffer.length) break;
      }
      if (length > MAX_SECRET_BYTES) return { ok: false, reason: `${path}: larger than ${MAX_SECRET_BYTES} bytes` };
      text = buffer.subarray(0, length).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error: unknown) {
    const code = errnoCode(error);
    return { ok: false, reason: `cannot read ${path}: ${(code === undefined ? undefined : REASONS[code]) ?? code ?? 'read error'}` };
  }
  const secret = text.replace(/[\r\n]+$/, '');
  return secret === '' ? { ok: false, reason: `${path} is empty` } : { ok: true, secret };
}
