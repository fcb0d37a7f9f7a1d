// Runs Debian's testssl.sh (3.0.x; the binary is `testssl` in the Debian
// package, `testssl.sh` upstream) against one loopback listener and returns
// its flat JSON findings, for tests that judge the TLS policy as a scanner does.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One entry of `--jsonfile` output: `id` names the check (`TLS1_1`, `cipherlist_NULL`, `cipher-tls1_2_xc02b`...). */
export interface TestsslFinding {
  readonly id: string;
  readonly severity: string;
  readonly finding: string;
}

/** The installed testssl.sh, or undefined. */
export const TESTSSL = ['/usr/bin/testssl', '/usr/bin/testssl.sh'].find((path) => existsSync(path));

/**
 * The checks the TLS policy needs, nothing more (a full run takes minutes): `-p` protocols,
 * `-s` cipher categories (NULL, aNULL, EXPORT, LOW incl. RC4, 3DES, CBC as "AVERAGE"), `-E` every
 * suite the server takes per protocol (raw sockets for suites the local OpenSSL lacks), `-R`
 * renegotiation, `-4` RC4. `-n none`: no DNS lookups at all, the target is a loopback address.
 */
const CHECKS = ['-p', '-s', '-E', '-R', '-4'];
const QUIET = ['--quiet', '--color', '0', '--warnings', 'off', '-n', 'none', '--openssl', '/usr/bin/openssl'];

export interface ScanTarget {
  readonly port: number;
  /** STARTTLS over SMTP (ports 25/587); false for implicit TLS (465). */
  readonly starttls: boolean;
  /** Kills the scan after this long (a hang guard, not a measurement). */
  readonly killAfterMs?: number;
}

/** Scans 127.0.0.1:port; rejects with testssl's output when it fails or writes no findings. */
export async function scanWithTestssl(target: ScanTarget): Promise<TestsslFinding[]> {
  if (TESTSSL === undefined) throw new Error('testssl.sh is not installed (Debian package testssl.sh)');
  const dir = await mkdtemp(join(tmpdir(), 'outpost-testssl-'));
  try {
    const jsonFile = join(dir, 'findings.json');
    const args = [...QUIET, ...CHECKS, '--jsonfile', jsonFile, ...(target.starttls ? ['--starttls', 'smtp'] : []), `127.0.0.1:${target.port}`];
    const { code, output } = await run(TESTSSL, args, target.killAfterMs ?? 150_000);
    if (code !== 0) throw new Error(`testssl ${args.join(' ')} exited with ${code}:\n${output}`);
    const findings = JSON.parse(await readFile(jsonFile, 'utf8')) as unknown;
    if (!Array.isArray(findings)) throw new Error(`testssl wrote no findings array:\n${output}`);
    return findings.map((entry: unknown) => {
      const { id, severity, finding } = entry as Record<string, unknown>;
      return { id: String(id), severity: String(severity), finding: String(finding) };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(command: string, args: readonly string[], killAfterMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Its own process group, so the hang guard also ends the openssl processes it started.
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, killAfterMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
