// Verifies DKIM signatures with an independent implementation: Debian's
// python3-dkim (dkimpy; Ed25519 through python3-nacl), fed the key records as
// DNS data, one verdict per DKIM-Signature field of the message.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DEBIAN_PYTHON } from './aiosmtpd-capture.js';

export function dkimpyInstalled(): boolean {
  return existsSync('/usr/lib/python3/dist-packages/dkim') && existsSync('/usr/lib/python3/dist-packages/nacl');
}

const VERIFY = `
import json, sys, dkim
records = json.loads(sys.argv[1])
message = sys.stdin.buffer.read()
def dnsfunc(name, timeout=5):
    key = name.decode() if isinstance(name, bytes) else name
    value = records.get(key.rstrip('.').lower())
    return value.encode() if value is not None else None
checker = dkim.DKIM(message)
count = sum(1 for (name, _) in dkim.rfc822_parse(message)[0] if name.lower() == b'dkim-signature')
results = []
for index in range(count):
    try:
        results.append(bool(checker.verify(idx=index, dnsfunc=dnsfunc)))
    except Exception as error:
        results.append(False)
print(json.dumps({'signatures': count, 'valid': results}))
`;

/** `records`: DNS name (no trailing dot) -> TXT value. Resolves with one boolean per signature, in header order. */
export function verifyWithDkimpy(message: Buffer, records: Readonly<Record<string, string>>): Promise<{ signatures: number; valid: boolean[] }> {
  return new Promise((resolve, reject) => {
    const child = execFile(DEBIAN_PYTHON, ['-c', VERIFY, JSON.stringify(records)], { maxBuffer: 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`dkimpy failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as { signatures: number; valid: boolean[] });
    });
    child.stdin?.end(message);
  });
}
