// TLSA certificate association data for test certificates, computed by Debian's openssl
// (an implementation independent of outpost's): the DER certificate (selector 0) or its
// SubjectPublicKeyInfo (selector 1), whole (matching type 0) or hashed with SHA2-256 (1) or SHA2-512 (2).

import { spawn } from 'node:child_process';

/** Runs openssl with `input` on stdin; resolves with its stdout bytes. */
function openssl(args: readonly string[], input: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`openssl ${args.join(' ')}: ${Buffer.concat(err).toString()}`))));
    child.stdin.end(input);
  });
}

/** The first certificate of a PEM text, as DER. */
export function certificateDer(pem: string): Promise<Buffer> {
  return openssl(['x509', '-outform', 'DER'], pem);
}

/** TLSA data (RFC 6698 §2.1.2-2.1.3) for the first certificate of `pem`. */
export async function tlsaData(pem: string, selector: 0 | 1, matchingType: 0 | 1 | 2): Promise<Buffer> {
  const selected = selector === 0 ? await certificateDer(pem) : await openssl(['pkey', '-pubin', '-outform', 'DER'], await openssl(['x509', '-noout', '-pubkey'], pem));
  if (matchingType === 0) return selected;
  return openssl(['dgst', matchingType === 1 ? '-sha256' : '-sha512', '-binary'], selected);
}

/** A TLSA record for the test DNS server's zones. */
export async function tlsaRecord(pem: string, usage: number, selector: 0 | 1, matchingType: 0 | 1 | 2): Promise<{ usage: number; selector: number; matchingType: number; certificate: Buffer }> {
  return { usage, selector, matchingType, certificate: await tlsaData(pem, selector, matchingType) };
}
