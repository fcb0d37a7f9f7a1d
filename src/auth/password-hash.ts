// Password hashes for the AUTH users file: node:crypto scrypt (RFC 7914) with a per-user
// random salt, stored as `$scrypt$N=16384,r=8,p=1$<salt>$<key>` (unpadded base64).

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParameters {
  /** CPU/memory cost, a power of two. */
  readonly cost: number;
  readonly blockSize: number;
  readonly parallelization: number;
}

export interface PasswordHash {
  readonly parameters: ScryptParameters;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/** N=2^14, r=8, p=1: 16 MiB and about 50-100 ms per hash on a small server. */
export const DEFAULT_SCRYPT_PARAMETERS: ScryptParameters = Object.freeze({ cost: 16384, blockSize: 8, parallelization: 1 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds on what a users file may ask for, so a hostile line cannot exhaust memory or CPU. */
const MAX_COST = 1 << 20;
const MAX_BLOCK_SIZE = 32;
const MAX_PARALLELIZATION = 16;
const MAX_SALT_BYTES = 64;
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 64;

const ENCODED = /^\$scrypt\$N=(\d{1,8}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/**
 * Verified against for unknown users, so they cost the same scrypt work as known ones
 * (the password behind it is random and was thrown away).
 */
export const DUMMY_PASSWORD_HASH = '$scrypt$N=16384,r=8,p=1$IdcqnBdFY45DugvFSWKw8w$pUNZjIF4mN7gDnnh/4Aj/vZSn8GsCJ3yM6g/nXqaXKU';

/** Bytes scrypt needs for these parameters (128·N·r plus 128·r·p), with headroom for Node's maxmem check. */
function memoryBytes(parameters: ScryptParameters): number {
  return 2 * 128 * parameters.blockSize * (parameters.cost + parameters.parallelization) + 1024 * 1024;
}

function derive(password: string, salt: Buffer, keyBytes: number, parameters: ScryptParameters): Promise<Buffer> {
  const options: ScryptOptions = {
    N: parameters.cost,
    r: parameters.blockSize,
    p: parameters.parallelization,
    maxmem: memoryBytes(parameters),
  };
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), salt, keyBytes, options, (error, key) => (error === null ? resolve(key) : reject(error)));
  });
}

function unpaddedBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Decodes unpadded base64, or undefined when it does not round-trip (stray bits, bad length). */
function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return unpaddedBase64(bytes) === text ? bytes : undefined;
}

export function formatPasswordHash(hash: PasswordHash): string {
  const { cost, blockSize, parallelization } = hash.parameters;
  return `$scrypt$N=${cost},r=${blockSize},p=${parallelization}$${unpaddedBase64(hash.salt)}$${unpaddedBase64(hash.key)}`;
}

/** The parts of an encoded hash, or why it is not one this module can verify. */
export function parsePasswordHash(encoded: string): { ok: true; hash: PasswordHash } | { ok: false; problem: string } {
  const match = ENCODED.exec(encoded);
  if (match === null) return { ok: false, problem: 'is not an scrypt hash ($scrypt$N=…,r=…,p=…$salt$key); make one with `outpost user add`' };
  const [, n = '', r = '', p = '', saltText = '', keyText = ''] = match;
  const parameters: ScryptParameters = { cost: Number(n), blockSize: Number(r), parallelization: Number(p) };
  const { cost, blockSize, parallelization } = parameters;
  if (cost < 2 || cost > MAX_COST || (cost & (cost - 1)) !== 0) return { ok: false, problem: `N=${n} must be a power of two from 2 to ${MAX_COST}` };
  if (blockSize < 1 || blockSize > MAX_BLOCK_SIZE) return { ok: false, problem: `r=${r} must be from 1 to ${MAX_BLOCK_SIZE}` };
  if (parallelization < 1 || parallelization > MAX_PARALLELIZATION) return { ok: false, problem: `p=${p} must be from 1 to ${MAX_PARALLELIZATION}` };
  const salt = decodeBase64(saltText);
  const key = decodeBase64(keyText);
  if (salt === undefined || salt.length > MAX_SALT_BYTES) return { ok: false, problem: 'has a malformed salt' };
  if (key === undefined || key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) return { ok: false, problem: 'has a malformed key' };
  return { ok: true, hash: { parameters, salt, key } };
}

/** A new hash of `password` (its UTF-8 bytes as given, no normalisation) with a fresh random salt. */
export async function hashPassword(password: string, parameters: ScryptParameters = DEFAULT_SCRYPT_PARAMETERS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, parameters);
  return formatPasswordHash({ parameters, salt, key });
}

/**
 * True when `password` matches `encoded`; the keys are compared in constant time.
 * A malformed `encoded` never matches, but still costs one scrypt run against the dummy hash.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parsePasswordHash(encoded);
  const target = parsed.ok ? parsed.hash : dummyHash();
  const key = await derive(password, target.salt, target.key.length, target.parameters);
  return parsed.ok && timingSafeEqual(key, target.key);
}

function dummyHash(): PasswordHash {
  const parsed = parsePasswordHash(DUMMY_PASSWORD_HASH);
  if (!parsed.ok) throw new Error(`DUMMY_PASSWORD_HASH ${parsed.problem}`);
  return parsed.hash;
}
