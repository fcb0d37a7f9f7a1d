// Verifies Standard Webhooks signatures with Python's hmac/hashlib/base64 (an
// implementation independent of ours): returns, per post, whether it verified.

import { spawn } from 'node:child_process';

const SCRIPT = String.raw`
import base64, hashlib, hmac, json, sys
data = json.load(sys.stdin)
secret = data["secret"]
key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode("utf-8")
out = []
for post in data["posts"]:
    signed = (post["id"] + "." + post["timestamp"] + "." + post["body"]).encode("utf-8")
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1)[1] for part in post["signature"].split(" ") if part.startswith("v1,")]
    out.append(any(hmac.compare_digest(expected, g) for g in given))
print(json.dumps(out))
`;

export function pythonVerify(secret: string, posts: readonly { readonly id: string; readonly timestamp: string; readonly body: string; readonly signature: string }[]): Promise<boolean[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`python3 exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as boolean[]);
    });
    child.stdin.end(JSON.stringify({ secret, posts }));
  });
}
