// Test helper (not a test): verifies DKIM signatures with dkimpy (Debian python3-dkim,
// Ed25519 through python3-nacl), an implementation independent of ours, one verdict per signature.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's interpreter: the python3 first on PATH may be another one without dkimpy. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

export function dkimpyInstalled(): boolean {
  return existsSync(DEBIAN_PYTHON) && existsSync('/usr/lib/python3/dist-packages/dkim') && existsSync('/usr/lib/python3/dist-packages/nacl');
}

/** Skip reason for interop tests: only outside CI, and only when dkimpy is missing. */
export function dkimpySkip(): string | false {
  return !dkimpyInstalled() && process.env['CI'] === undefined ? 'python3-dkim / python3-nacl not installed at /usr/bin/python3 (CI runs these)' : false;
}

const VERIFY = `
import json, sys, dkim
records = json.loads(sys.argv[1])
message = sys.stdin.buffer.read()
asked = []
def dnsfunc(name, timeout=5):
    asked.append(name.decode())
    value = records.get(name.decode())
    return value.encode() if value is not None else None
count = sum(1 for (name, _) in dkim.rfc822_parse(message)[0] if name.lower() == b'dkim-signature')
verdicts = []
for index in range(count):
    try:
        verdicts.append({'valid': bool(dkim.DKIM(message).verify(idx=index, dnsfunc=dnsfunc)), 'error': None})
    except Exception as error:
        verdicts.append({'valid': False, 'error': repr(error)})
print(json.dumps({'verdicts': verdicts, 'asked': asked, 'whole': bool(dkim.verify(message, dnsfunc=dnsfunc)) if count else False}))
`;

export interface DkimpyResult {
  /** One per DKIM-Signature field, top first. */
  readonly verdicts: readonly { readonly valid: boolean; readonly error: string | null }[];
  /** The DNS names dkimpy looked up, as it passed them to dnsfunc. */
  readonly asked: readonly string[];
  /** dkim.verify() on the whole message (checks the first signature). */
  readonly whole: boolean;
}

/** `records`: DNS name exactly as dkimpy asks for it ("<selector>._domainkey.<domain>.") -> TXT value. */
export function verifyWithDkimpy(message: Buffer, records: Readonly<Record<string, string>>): Promise<DkimpyResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(DEBIAN_PYTHON, ['-c', VERIFY, JSON.stringify(records)], { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`dkimpy failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as DkimpyResult);
    });
    child.stdin?.end(message);
  });
}
