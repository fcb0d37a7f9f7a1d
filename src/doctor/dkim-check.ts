// The doctor's DKIM rows (RFC 6376 §3.6.1, §3.6.2.2): every key on disk has its
// <selector>._domainkey TXT record published with the same p=; key-file problems too.

import { relative, sep } from 'node:path';
import type { DkimKey, KeyProblem } from '../dkim/keys.js';
import { publishedKey } from '../dkim/published-key.js';
import { dkimRecord } from '../dkim/record.js';
import type { Resolver } from '../dns/resolver.js';
import { rowMaker, type DoctorCheck, type RowMaker } from './report.js';

export interface DkimCheckInput {
  readonly resolver: Resolver;
  readonly domain: string;
  /** The keys of this domain. */
  readonly keys: readonly DkimKey[];
}

function keyLabel(key: DkimKey): string {
  return key.algorithm === 'ed25519-sha256' ? 'Ed25519' : `RSA ${key.bits ?? '?'}-bit`;
}

async function keyRow(resolver: Resolver, rows: RowMaker, key: DkimKey): Promise<DoctorCheck> {
  const record = dkimRecord(key);
  const subject = record.name;
  const found = await publishedKey(resolver, key);
  switch (found.kind) {
    case 'error':
      return rows.fail(subject, `${found.reason}; receivers cannot verify the signatures`);
    case 'missing':
      return rows.fail(subject, `not published: receivers cannot verify the ${keyLabel(key)} signatures of ${key.file}`, record.zoneLine);
    case 'malformed':
      return rows.fail(subject, `the published record is malformed (${found.problem}); receivers cannot verify`, record.zoneLine);
    case 'mismatch': {
      const why = found.revoked ? 'the published record is revoked (empty p=)' : `the published p= is not the public key of ${key.file} (an older key, or a different file)`;
      return rows.fail(subject, `${why}: signatures fail verification`, record.zoneLine);
    }
    case 'published':
      if (found.records > 1) return rows.warn(subject, `${found.records} TXT records at this name; verifiers may pick any one, and only one matches`, record.zoneLine);
      return rows.ok(subject, `${keyLabel(key)} key published (${found.keyType})`);
  }
}

export async function checkDkim(input: DkimCheckInput): Promise<DoctorCheck[]> {
  const rows = rowMaker(input.domain, 'dkim');
  if (input.keys.length === 0) return [rows.warn(null, `not signing (no DKIM key on disk); run outpost dkim keygen ${input.domain}`, `outpost dkim keygen ${input.domain}  (then publish the TXT record it prints)`)];
  return Promise.all(input.keys.map((key) => keyRow(input.resolver, rows, key)));
}

/** The domain a key-file problem belongs to: the folder holding the file under the keys folder, else `fallback`. */
export function problemDomain(keysFolder: string, problem: KeyProblem, fallback: string): string {
  const parts = relative(keysFolder, problem.file).split(sep);
  const domain = parts[0];
  return parts.length > 1 && domain !== undefined && domain !== '..' ? domain.toLowerCase() : fallback;
}

/** Rows for keys that could not be loaded (fail) and for load warnings (warn). */
export function keyFileRows(keysFolder: string, fallbackDomain: string, problems: readonly KeyProblem[], warnings: readonly KeyProblem[]): DoctorCheck[] {
  const row = (status: 'fail' | 'warn', problem: KeyProblem): DoctorCheck => {
    const rows = rowMaker(problemDomain(keysFolder, problem, fallbackDomain), 'dkim');
    return rows[status](problem.file, problem.problem, 'correct or remove the key file, then run outpost dkim records');
  };
  return [...problems.map((problem) => row('fail', problem)), ...warnings.map((problem) => row('warn', problem))];
}
