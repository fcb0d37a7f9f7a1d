// Reads messages with an independent MIME implementation: Python's email
// package (Debian's /usr/bin/python3), which lists every leaf part with its
// type, encoding and decoded payload (`get_payload(decode=True)`).

import { execFile } from 'node:child_process';
import { DEBIAN_PYTHON } from './aiosmtpd-capture.js';

export interface PythonLeaf {
  readonly type: string;
  /** Content-Transfer-Encoding as declared, lowercase ("" when absent). */
  readonly cte: string;
  readonly charset: string | null;
  readonly payload: Buffer;
  readonly defects: readonly string[];
}

const READ = `
import base64, email, json, sys
def leaves(data):
    message = email.message_from_bytes(data)
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        found.append({
            'type': part.get_content_type(),
            'cte': str(part.get('Content-Transfer-Encoding', '')).strip().lower(),
            'charset': part.get_content_charset(),
            'payload': base64.b64encode(part.get_payload(decode=True) or b'').decode(),
            'defects': [type(defect).__name__ for defect in part.defects],
        })
    return found
messages = json.loads(sys.stdin.read())
print(json.dumps([leaves(base64.b64decode(item)) for item in messages]))
`;

/** The leaves of each message, in order, as Python's email package decodes them. */
export function pythonLeaves(messages: readonly Buffer[]): Promise<PythonLeaf[][]> {
  return new Promise((resolve, reject) => {
    const child = execFile(DEBIAN_PYTHON, ['-c', READ], { maxBuffer: 512 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`python email failed: ${stderr || error.message}`));
        return;
      }
      const parsed = JSON.parse(stdout) as Array<Array<Omit<PythonLeaf, 'payload'> & { payload: string }>>;
      resolve(parsed.map((leaves) => leaves.map((leaf) => ({ ...leaf, payload: Buffer.from(leaf.payload, 'base64') }))));
    });
    child.stdin?.end(JSON.stringify(messages.map((message) => message.toString('base64'))));
  });
}

const DECODE_QP = `
import base64, json, quopri, sys
items = json.loads(sys.stdin.read())
print(json.dumps([base64.b64encode(quopri.decodestring(base64.b64decode(item))).decode() for item in items]))
`;

/** Decodes each quoted-printable text with Python's quopri (as the email package does). */
export function pythonDecodeQuotedPrintable(encoded: readonly Buffer[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(DEBIAN_PYTHON, ['-c', DECODE_QP], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`python quopri failed: ${stderr || error.message}`));
      else resolve((JSON.parse(stdout) as string[]).map((item) => Buffer.from(item, 'base64')));
    });
    child.stdin?.end(JSON.stringify(encoded.map((item) => item.toString('base64'))));
  });
}
