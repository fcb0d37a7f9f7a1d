// New DKIM private keys: generated as PKCS#8 PEM (RSA per RFC 8301, Ed25519 per
// RFC 8463) and written durably as <folder>/<domain>/<selector>.pem, never over an existing file.

import { generateKeyPairSync } from 'node:crypto';
import { link, mkdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { canonicalDomain } from '../core/domain.js';
import { errnoCode, OutpostError } from '../core/errors.js';
import { syncFolder, writeSyncedTemp } from '../core/safe-file.js';
import { isValidSelector } from './selector.js';

export const DEFAULT_RSA_BITS = 2048;
const MIN_GENERATED_RSA_BITS = 1024;
const KEY_FILE_MODE = 0o600;
const KEY_FOLDER_MODE = 0o700;

/** A new private key as PKCS#8 PEM; RSA keys have `rsaBits` (default 2048, at least 1024) and exponent 65537. */
export function generateKeyPem(algorithm: 'rsa' | 'ed25519', rsaBits: number = DEFAULT_RSA_BITS): string {
  const pkcs8 = { type: 'pkcs8', format: 'pem' } as const;
  const spki = { type: 'spki', format: 'pem' } as const;
  if (algorithm === 'ed25519') return generateKeyPairSync('ed25519', { privateKeyEncoding: pkcs8, publicKeyEncoding: spki }).privateKey;
  if (!Number.isInteger(rsaBits) || rsaBits < MIN_GENERATED_RSA_BITS) {
    throw new OutpostError('EDKIMKEYSIZE', `RSA keys need at least ${MIN_GENERATED_RSA_BITS} bits (RFC 8301), not ${rsaBits}`);
  }
  return generateKeyPairSync('rsa', { modulusLength: rsaBits, publicExponent: 0x10001, privateKeyEncoding: pkcs8, publicKeyEncoding: spki }).privateKey;
}

/**
 * Writes <folder>/<domain>/<selector>.pem with mode 0600 (folders made 0700), durably:
 * temp file, fsync, hard link to the final name (fails if it exists), fsync the folder.
 * Rejects with code EDKIMKEYEXISTS when the file exists. Returns the path.
 */
export async function writeNewKeyFile(folder: string, domain: string, selector: string, pem: string): Promise<string> {
  if (canonicalDomain(domain) !== domain) throw new OutpostError('EDKIMDOMAIN', `'${domain}' is not a canonical domain name`);
  if (!isValidSelector(selector)) throw new OutpostError('EDKIMSELECTOR', `'${selector}' is not a valid selector (RFC 6376 §3.1)`);
  const domainFolder = join(folder, domain);
  const created = await mkdir(domainFolder, { recursive: true, mode: KEY_FOLDER_MODE });
  const path = join(domainFolder, `${selector}.pem`);
  let temporary: string | undefined;
  try {
    temporary = await writeSyncedTemp(domainFolder, `${selector}.pem`, pem, KEY_FILE_MODE);
    await link(temporary, path);
  } catch (error: unknown) {
    if (errnoCode(error) === 'EEXIST') throw new OutpostError('EDKIMKEYEXISTS', `${path} already exists; a key file is never overwritten (choose another selector)`, { cause: error });
    throw error;
  } finally {
    if (temporary !== undefined) await unlink(temporary).catch(() => undefined);
  }
  await syncFolder(domainFolder);
  // New folders are entries in their parents: make those durable too.
  if (created !== undefined) for (const parent of new Set([folder, dirname(created)])) await syncFolder(parent);
  return path;
}
