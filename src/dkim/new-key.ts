// Makes one new DKIM key for a domain in the keys folder: picks the selector (given,
// or the next free rsa-/ed-YYYYMMDD one), generates, writes and describes the key.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, OutpostError } from '../core/errors.js';
import { generateKeyPem, writeNewKeyFile } from './key-files.js';
import { parsePrivateKey, type DkimKey } from './keys.js';
import { defaultSelector } from './selector.js';

export interface NewKeyRequest {
  readonly folder: string;
  /** Canonical domain. */
  readonly domain: string;
  readonly algorithm: 'rsa' | 'ed25519';
  readonly rsaBits?: number;
  /** Absent: the default selector for the UTC day of `nowMs`. */
  readonly selector?: string;
  readonly nowMs: number;
}

export type NewKey = Pick<DkimKey, 'domain' | 'selector' | 'algorithm' | 'bits' | 'file' | 'publicKeyBase64'>;

/** How often a default selector is tried again when another process took it meanwhile. */
const DEFAULT_SELECTOR_TRIES = 5;

/** The selectors of the domain's key files (<selector>.pem); none when its folder does not exist. */
export async function takenSelectors(folder: string, domain: string): Promise<Set<string>> {
  try {
    const names = await readdir(join(folder, domain));
    return new Set(names.filter((name) => name.endsWith('.pem')).map((name) => name.slice(0, -'.pem'.length)));
  } catch (error: unknown) {
    if (errnoCode(error) === 'ENOENT') return new Set();
    throw error;
  }
}

/** Generates and writes the key; rejects with EDKIMKEYEXISTS when an explicit selector's file exists. */
export async function createKey(request: NewKeyRequest): Promise<NewKey> {
  const pem = generateKeyPem(request.algorithm, request.rsaBits);
  const parsed = parsePrivateKey(pem);
  if (!parsed.ok) throw new OutpostError('EDKIMKEYGEN', `generated key unusable: ${parsed.problem}`);
  const describe = (selector: string, file: string): NewKey => ({
    domain: request.domain,
    selector,
    algorithm: parsed.algorithm,
    bits: parsed.bits,
    file,
    publicKeyBase64: parsed.publicKeyBase64,
  });
  if (request.selector !== undefined) return describe(request.selector, await writeNewKeyFile(request.folder, request.domain, request.selector, pem));
  for (let attempt = 1; ; attempt++) {
    const selector = defaultSelector(parsed.algorithm, request.nowMs, await takenSelectors(request.folder, request.domain));
    try {
      return describe(selector, await writeNewKeyFile(request.folder, request.domain, selector, pem));
    } catch (error: unknown) {
      if (!(error instanceof OutpostError && error.code === 'EDKIMKEYEXISTS') || attempt >= DEFAULT_SELECTOR_TRIES) throw error;
    }
  }
}
