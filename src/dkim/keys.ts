// The DKIM private keys on disk, <folder>/<domain>/<selector>.pem: loading with
// every problem named by file (RFC 6376 §3.1 selectors, RFC 8301 RSA sizes,
// RFC 8463 Ed25519), and the p= public key each one publishes (RFC 6376 §3.6.1).

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalDomain } from '../core/domain.js';
import { errnoCode, errorMessage } from '../core/errors.js';
import { isValidSelector } from './selector.js';

export { generateKeyPem, writeNewKeyFile } from './key-files.js';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export interface DkimKey {
  /** Canonical lowercase A-label (its folder name). */
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: DkimAlgorithm;
  readonly privateKey: KeyObject;
  /** RSA modulus bits; undefined for Ed25519. */
  readonly bits: number | undefined;
  /** Absolute path. */
  readonly file: string;
  /** File mtime: orders the keys of one domain and algorithm (rotation). */
  readonly createdMs: number;
  /** The p= value of its DNS record. */
  readonly publicKeyBase64: string;
}

export interface KeyProblem {
  readonly file: string;
  readonly problem: string;
}

export interface LoadedKeys {
  readonly keys: readonly DkimKey[];
  readonly problems: readonly KeyProblem[];
  readonly warnings: readonly KeyProblem[];
}

/** RFC 8301 §3.2: signers MUST use at least 1024 bits and SHOULD use at least 2048. */
export const MIN_RSA_BITS = 1024;
export const RECOMMENDED_RSA_BITS = 2048;
/** A PEM private key is a few KiB; anything far larger is not one. */
const MAX_KEY_FILE_BYTES = 64 * 1024;
const KEY_SUFFIX = '.pem';

interface Findings {
  readonly keys: DkimKey[];
  readonly problems: KeyProblem[];
  readonly warnings: KeyProblem[];
}

/**
 * Reads <folder>/<domain>/<selector>.pem. A missing folder means no keys and no problem.
 * Keys come back ordered by domain, algorithm, then age (oldest first).
 */
export async function loadDkimKeys(folder: string, isLocalDomain?: (domain: string) => boolean): Promise<LoadedKeys> {
  const findings: Findings = { keys: [], problems: [], warnings: [] };
  const entries = await listFolder(folder, findings);
  for (const name of entries) {
    const path = join(folder, name);
    const info = await statOrProblem(path, findings);
    if (info === undefined) continue;
    if (!info.isDirectory()) {
      findings.warnings.push({ file: path, problem: 'not a domain folder; ignored (keys go in <domain>/<selector>.pem)' });
      continue;
    }
    const domain = domainFolderProblem(name);
    if (domain.problem !== undefined) {
      findings.problems.push({ file: path, problem: domain.problem });
      continue;
    }
    if (isLocalDomain !== undefined && !isLocalDomain(name)) {
      // A domain taken out of the domains file: its keys simply stop signing; nothing else breaks.
      findings.warnings.push({ file: path, problem: `${name} is not a local domain; its keys are not used (remove the folder, or add the domain to the domains file)` });
      continue;
    }
    await loadDomainFolder(path, name, findings);
  }
  findings.keys.sort((a, b) => a.domain.localeCompare(b.domain) || a.algorithm.localeCompare(b.algorithm) || a.createdMs - b.createdMs || a.selector.localeCompare(b.selector));
  return findings;
}

async function listFolder(folder: string, findings: Findings): Promise<string[]> {
  try {
    return (await readdir(folder)).sort();
  } catch (error: unknown) {
    if (errnoCode(error) !== 'ENOENT') findings.problems.push({ file: folder, problem: `cannot read the folder: ${errorMessage(error)}` });
    return [];
  }
}

async function statOrProblem(path: string, findings: Findings): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error: unknown) {
    findings.problems.push({ file: path, problem: `cannot read: ${errorMessage(error)}` });
    return undefined;
  }
}

function domainFolderProblem(name: string): { problem: string | undefined } {
  const canonical = canonicalDomain(name);
  if (canonical === undefined) return { problem: `folder name '${name}' is not a domain name` };
  if (canonical !== name) return { problem: `folder name '${name}' must be the domain's canonical form; rename it to '${canonical}'` };
  return { problem: undefined };
}

async function loadDomainFolder(path: string, domain: string, findings: Findings): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(path)).sort();
  } catch (error: unknown) {
    findings.problems.push({ file: path, problem: `cannot read the folder: ${errorMessage(error)}` });
    return;
  }
  for (const name of names) {
    const file = join(path, name);
    if (!name.endsWith(KEY_SUFFIX)) {
      findings.warnings.push({ file, problem: `not a key file (only <selector>${KEY_SUFFIX} files are read); ignored` });
      continue;
    }
    const selector = name.slice(0, -KEY_SUFFIX.length);
    if (!isValidSelector(selector)) {
      findings.problems.push({ file, problem: `'${selector}' is not a valid selector (letters, digits and hyphens in dot-separated labels, RFC 6376 §3.1)` });
      continue;
    }
    await loadKeyFile(file, domain, selector, findings);
  }
}

async function loadKeyFile(file: string, domain: string, selector: string, findings: Findings): Promise<void> {
  const info = await statOrProblem(file, findings);
  if (info === undefined) return;
  if (!info.isFile()) {
    findings.problems.push({ file, problem: 'not a regular file' });
    return;
  }
  if (info.size > MAX_KEY_FILE_BYTES) {
    findings.problems.push({ file, problem: `${info.size} bytes is too large for a PEM private key` });
    return;
  }
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error: unknown) {
    findings.problems.push({ file, problem: `cannot read: ${errorMessage(error)}` });
    return;
  }
  const parsed = parsePrivateKey(pem);
  if (!parsed.ok) {
    findings.problems.push({ file, problem: parsed.problem });
    return;
  }
  const { privateKey, algorithm, bits, publicKeyBase64 } = parsed;
  if (bits !== undefined && bits < MIN_RSA_BITS) {
    findings.problems.push({ file, problem: `RSA key of ${bits} bits refused: RFC 8301 requires at least ${MIN_RSA_BITS} (use ${RECOMMENDED_RSA_BITS})` });
    return;
  }
  if (bits !== undefined && bits < RECOMMENDED_RSA_BITS) {
    findings.warnings.push({ file, problem: `RSA key of ${bits} bits is weak: RFC 8301 recommends at least ${RECOMMENDED_RSA_BITS}; rotate to a stronger key` });
  }
  if ((info.mode & 0o077) !== 0) {
    findings.warnings.push({ file, problem: `private key readable by group or others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it` });
  }
  findings.keys.push({ domain, selector, algorithm, privateKey, bits, file, createdMs: info.mtimeMs, publicKeyBase64 });
}

type ParsedKey =
  | { ok: true; privateKey: KeyObject; algorithm: DkimAlgorithm; bits: number | undefined; publicKeyBase64: string }
  | { ok: false; problem: string };

/** A PEM (PKCS#8 or PKCS#1) private key of a type DKIM can sign with. */
export function parsePrivateKey(pem: string): ParsedKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error: unknown) {
    if (/PUBLIC KEY-----/.test(pem)) return { ok: false, problem: 'holds a public key, not a private key' };
    return { ok: false, problem: `not a PEM private key (${errorMessage(error)})` };
  }
  if (privateKey.asymmetricKeyType === 'rsa') {
    const bits = privateKey.asymmetricKeyDetails?.modulusLength;
    return { ok: true, privateKey, algorithm: 'rsa-sha256', bits, publicKeyBase64: publicKeyBase64(privateKey, 'rsa-sha256') };
  }
  if (privateKey.asymmetricKeyType === 'ed25519') {
    return { ok: true, privateKey, algorithm: 'ed25519-sha256', bits: undefined, publicKeyBase64: publicKeyBase64(privateKey, 'ed25519-sha256') };
  }
  return { ok: false, problem: `a ${privateKey.asymmetricKeyType ?? 'unknown'} key: DKIM signs with rsa (RFC 8301) or ed25519 (RFC 8463) keys only` };
}

/** RSA: the SubjectPublicKeyInfo DER (RFC 6376 §3.6.1); Ed25519: the raw 32-byte key (RFC 8463 §4.2). */
export function publicKeyBase64(privateKey: KeyObject, algorithm: DkimAlgorithm): string {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return (algorithm === 'ed25519-sha256' ? spki.subarray(spki.length - 32) : spki).toString('base64');
}
