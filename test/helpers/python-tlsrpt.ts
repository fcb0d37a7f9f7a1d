// Reads a TLS report with independent implementations: a report mail with
// Python's email package (headers, the multipart/report type, the
// application/tlsrpt+gzip part), and any gzip body with Python's gzip and json.

import { execFile } from 'node:child_process';
import { DEBIAN_PYTHON } from './aiosmtpd-capture.js';

export interface PythonReportMail {
  readonly headers: Record<string, string>;
  readonly contentType: string;
  readonly reportType: string | null;
  readonly parts: readonly { readonly type: string; readonly cte: string; readonly filename: string | null }[];
  /** The gzip attachment, decompressed and parsed. */
  readonly report: unknown;
  readonly defects: readonly string[];
}

const READ_MAIL = `
import email, gzip, json, sys
message = email.message_from_bytes(sys.stdin.buffer.read())
names = ['From', 'To', 'Subject', 'Date', 'Message-ID', 'TLS-Report-Domain', 'TLS-Report-Submitter', 'TLS-Required', 'Auto-Submitted', 'MIME-Version']
report = None
parts = []
defects = [type(defect).__name__ for defect in message.defects]
for part in message.walk():
    defects += [type(defect).__name__ for defect in part.defects]
    if part.is_multipart():
        continue
    parts.append({'type': part.get_content_type(), 'cte': str(part.get('Content-Transfer-Encoding', '')).lower(), 'filename': part.get_filename()})
    if part.get_content_type() == 'application/tlsrpt+gzip':
        report = json.loads(gzip.decompress(part.get_payload(decode=True)))
print(json.dumps({
    'headers': {name: str(message[name]) for name in names if message[name] is not None},
    'contentType': message.get_content_type(),
    'reportType': message.get_param('report-type'),
    'parts': parts,
    'report': report,
    'defects': defects,
}))
`;

const READ_GZIP = `
import gzip, json, sys
print(json.dumps(json.loads(gzip.decompress(sys.stdin.buffer.read()))))
`;

function runPython<T>(script: string, input: Buffer): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = execFile(DEBIAN_PYTHON, ['-c', script], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`python failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as T);
    });
    child.stdin?.end(input);
  });
}

export function readReportMail(message: Buffer): Promise<PythonReportMail> {
  return runPython<PythonReportMail>(READ_MAIL, message);
}

export function readGzipJson(body: Buffer): Promise<unknown> {
  return runPython<unknown>(READ_GZIP, body);
}
