// The TLS certificate and key named by `tls.cert` / `tls.key` (PEM, chain
// allowed), turned into Node SecureContexts for TLS 1.2+ (RFC 8996 retires
// older versions); a mismatched or unparsable pair is a clear problem.

import { readFile } from 'node:fs/promises';
import { constants as cryptoConstants } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { errorMessage } from '../core/errors.js';
import { readFailureReason } from './files.js';
import type { TlsFilesConfig } from './types.js';
import { failure, success, type Outcome } from './values.js';

/**
 * TLS 1.2 suites for `submission` and `smtps`: only AEAD ciphers with forward secrecy (RFC 8314
 * §4.1 clients are modern; BCP 195 / RFC 9325). TLS 1.3 suites are all AEAD. Port 25 keeps
 * Node's broader default list: there any encryption beats the plaintext fallback.
 */
export const AEAD_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * No TLS 1.2 renegotiation at all: a client-initiated one costs the server a full handshake each
 * time (CPU exhaustion), and Node does not limit it on sockets upgraded by STARTTLS.
 */
export const NO_RENEGOTIATION = cryptoConstants.SSL_OP_NO_RENEGOTIATION;

/** The contexts of one certificate: `mta` (broad) and `submission` (AEAD only, for submission and smtps). */
export interface TlsContexts {
  readonly mta: SecureContext;
  readonly submission: SecureContext;
}

export async function loadTlsContexts(files: TlsFilesConfig): Promise<Outcome<TlsContexts>> {
  const mta = await loadTlsContext(files);
  if (!mta.ok) return mta;
  const submission = await loadTlsContext(files, AEAD_TLS12_CIPHERS);
  return submission.ok ? success({ mta: mta.value, submission: submission.value }) : submission;
}

export async function loadTlsContext(files: TlsFilesConfig, ciphers?: string): Promise<Outcome<SecureContext>> {
  let cert: Buffer;
  let key: Buffer;
  try {
    [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  } catch (error: unknown) {
    return failure(`cannot read the certificate or key: ${readFailureReason(error)}`);
  }
  try {
    return success(createSecureContext({ cert, key, minVersion: 'TLSv1.2', secureOptions: NO_RENEGOTIATION, ...(ciphers === undefined ? {} : { ciphers }) }));
  } catch (error: unknown) {
    const reason = errorMessage(error);
    const why = /key values mismatch/i.test(reason) ? 'the key does not belong to the certificate' : reason;
    return failure(`${files.certFile} / ${files.keyFile}: ${why}`);
  }
}
