// The TLS certificate and key named by `tls.cert` / `tls.key` (PEM, chain
// allowed), turned into a Node SecureContext for TLS 1.2+ (RFC 8996 retires
// older versions); a mismatched or unparsable pair is a clear problem.

import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import { errorMessage } from '../core/errors.js';
import { readFailureReason } from './files.js';
import type { TlsFilesConfig } from './types.js';
import { failure, success, type Outcome } from './values.js';

export async function loadTlsContext(files: TlsFilesConfig): Promise<Outcome<SecureContext>> {
  let cert: Buffer;
  let key: Buffer;
  try {
    [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  } catch (error: unknown) {
    return failure(`cannot read the certificate or key: ${readFailureReason(error)}`);
  }
  try {
    return success(createSecureContext({ cert, key, minVersion: 'TLSv1.2' }));
  } catch (error: unknown) {
    const reason = errorMessage(error);
    const why = /key values mismatch/i.test(reason) ? 'the key does not belong to the certificate' : reason;
    return failure(`${files.certFile} / ${files.keyFile}: ${why}`);
  }
}
