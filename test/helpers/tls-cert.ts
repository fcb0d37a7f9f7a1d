// A throwaway self-signed certificate for test TLS servers, made with
// Debian's openssl in a temporary folder that is removed right after.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  /** PEM private key (EC P-256). */
  readonly key: string;
  /** PEM self-signed certificate for `commonName` (also its subjectAltName), valid one day. */
  readonly cert: string;
}

export async function makeSelfSignedCertificate(commonName = 'mx.test.invalid'): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-cert-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=DNS:${commonName}`,
      '-keyout', keyPath, '-out', certPath,
    ]);
    return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
