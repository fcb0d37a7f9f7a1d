// A throwaway certificate authority for tests that verify certificates: a CA
// and server certificates it signs (for a host name and 127.0.0.1), made with
// Debian's openssl in a temporary folder that is removed right after.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestCertificate } from './tls-cert.js';

const run = promisify(execFile);

export interface TestCa {
  /** PEM certificate of the CA (what a client trusts). */
  readonly cert: string;
  /**
   * A server certificate for `hostName` (one name or several; and IP 127.0.0.1) signed by this CA,
   * valid one day, or (`expired`) one that expired a day ago.
   */
  issue(hostName: string | readonly string[], options?: { readonly expired?: boolean }): Promise<TestCertificate>;
}

async function inTempFolder<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-ca-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function makeTestCa(name = 'outpost test CA'): Promise<TestCa> {
  const { cert, key } = await inTempFolder(async (dir) => {
    await run('openssl', ['req', '-x509', ...EC_KEY, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem')]);
    return { cert: await readFile(join(dir, 'ca.pem'), 'utf8'), key: await readFile(join(dir, 'ca.key'), 'utf8') };
  });
  return {
    cert,
    issue: (hostName, options = {}) =>
      inTempFolder(async (dir) => {
        await writeFile(join(dir, 'ca.pem'), cert);
        await writeFile(join(dir, 'ca.key'), key);
        const names = typeof hostName === 'string' ? [hostName] : hostName;
        await writeFile(join(dir, 'ext.cnf'), `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
        await run('openssl', ['req', ...EC_KEY, '-subj', `/CN=${names[0] ?? 'localhost'}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'req.csr')]);
        // -days -1: valid until a day before it was made, i.e. expired.
        const days = options.expired === true ? '-1' : '1';
        await run('openssl', ['x509', '-req', '-in', join(dir, 'req.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', days, '-extfile', join(dir, 'ext.cnf'), '-out', join(dir, 'cert.pem')]);
        return { key: await readFile(join(dir, 'key.pem'), 'utf8'), cert: await readFile(join(dir, 'cert.pem'), 'utf8') };
      }),
  };
}
