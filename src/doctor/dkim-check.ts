// The doctor's DKIM rows (RFC 6376 §3.6.1, §3.6.2.2): every key on disk has its
// <selector>._domainkey TXT record published with the same p=; key-file problems too.

import { relative, sep } from 'node:path';
import type { DkimKey, KeyProblem } from '../dkim/keys.js';
import { dkimRecord, parseDkimRecord } from '../dkim/record.js';
import type { Resolver } from '../dns/resolver.js';
import { lookupTexts } from './dns-text.js';
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

function withoutSpace(text: string): string {
  return text.replace(/\s+/g, '');
}

async function keyRow(resolver: Resolver, rows: RowMaker, key: DkimKey): Promise<DoctorCheck> {
  const record = dkimRecord(key);
  const subject = record.name;
  const found = await lookupTexts(resolver, record.name);
  if (found.kind === 'error') return rows.fail(subject, `${found.reason}; receivers cannot verify the signatures`);
  if (found.kind === 'absent') return rows.fail(subject, `not published: receivers cannot verify the ${keyLabel(key)} signatures of ${key.file}`, record.zoneLine);
  const parsed = found.texts.map(parseDkimRecord);
  const keys = parsed.flatMap((result) => (result.ok ? [result] : []));
  const first = parsed[0];
  if (keys.length === 0) {
    const problem = first !== undefined && !first.ok ? first.problem : 'no key record';
    return rows.fail(subject, `the published record is malformed (${problem}); receivers cannot verify`, record.zoneLine);
  }
  const matching = keys.find((candidate) => withoutSpace(candidate.publicKeyBase64) === withoutSpace(key.publicKeyBase64));
  if (matching === undefined) {
    const revoked = keys.every((candidate) => candidate.revoked);
    const why = revoked ? 'the published record is revoked (empty p=)' : `the published p= is not the public key of ${key.file} (an older key, or a different file)`;
    return rows.fail(subject, `${why}: signatures fail verification`, record.zoneLine);
  }
  if (found.texts.length > 1) return rows.warn(subject, `${found.texts.length} TXT records at this name; verifiers may pick any one, and only one matches`, record.zoneLine);
  return rows.ok(subject, `${keyLabel(key)} key published (${matching.keyType})`);
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
