// Runs the real `outpost` executable (the compiled CLI) as a child process
// against a temporary config and spool, for end-to-end tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDnsServer } from './dns-server.js';

/** The compiled CLI next to this file's compiled form (build/test/helpers -> build/src/cli.js). */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface TestInstallation {
  readonly dir: string;
  readonly configFile: string;
  readonly spoolDir: string;
  remove(): Promise<void>;
}

/** Foreign test domains the holding DNS server answers SERVFAIL for, so their mail stays queued (4.4.3). */
export const HELD_DOMAINS = ['example.net', 'example.com', 'example.info'];

export interface InstallationOptions {
  /** YAML lines appended to outpost.yaml. */
  readonly extraYaml?: string;
  readonly domains?: readonly string[];
  /** One listener per mode on 127.0.0.1, port 0; default just `mta`. */
  readonly listeners?: readonly ('mta' | 'submission' | 'smtps')[];
  /**
   * The DNS server outpost must use. Default: a test DNS server of its own that
   * answers SERVFAIL for HELD_DOMAINS. Never the machine's resolver: tests only
   * ever talk to loopback.
   */
  readonly dns?: { readonly address: string; readonly port: number };
}

/** Writes outpost.yaml and a domains file (default: example.org) in a temp folder. */
export async function makeInstallation(options: InstallationOptions = {}): Promise<TestInstallation> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-e2e-'));
  const spoolDir = join(dir, 'spool');
  const configFile = join(dir, 'outpost.yaml');
  const holding =
    options.dns === undefined
      ? await startDnsServer({ zones: {}, faults: Object.fromEntries(HELD_DOMAINS.map((domain) => [domain, { kind: 'servfail' as const }])) })
      : undefined;
  const dns = options.dns ?? holding ?? { address: '127.0.0.1', port: 53 };
  await writeFile(join(dir, 'domains'), `# test domains\n${(options.domains ?? ['example.org']).join('\n')}\n`);
  await writeFile(
    configFile,
    [
      'hostname: mx.example.org',
      'domains: domains',
      'listen:',
      ...(options.listeners ?? ['mta']).map((mode) => `  - { address: 127.0.0.1, port: 0, mode: ${mode} }`),
      'spoolDir: spool',
      'log: { level: info }',
      'http: { address: 127.0.0.1, port: 0 }',
      `dns: { servers: ["${dns.address}:${dns.port}"], timeout: 1s }`,
      options.extraYaml ?? '',
    ].join('\n'),
  );
  return {
    dir,
    configFile,
    spoolDir,
    async remove() {
      await holding?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one CLI command to completion. */
export function runOutpost(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `outpost user add ADDRESS` with the password piped on stdin; resolves with the exit code. */
export function addUser(configFile: string, address: string, password: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, 'user', 'add', address, '--config', configFile], { stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', resolve);
    child.stdin.end(`${password}\n`);
  });
}

/** `process.env` without OUTPOST_* variables, so the caller's shell cannot change a test. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('OUTPOST_') && value !== undefined) env[key] = value;
  return env;
}

export class ServeProcess {
  readonly logLines: Record<string, unknown>[] = [];
  private stdoutBuffer = '';
  stderr = '';
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;
  /** Called on every batch of new log lines and once the output has closed (waitForLog's waiters). */
  private listeners = new Set<() => void>();
  private outputClosed = false;

  private constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      this.stdoutBuffer += text;
      let newline: number;
      while ((newline = this.stdoutBuffer.indexOf('\n')) !== -1) {
        const line = this.stdoutBuffer.slice(0, newline);
        this.stdoutBuffer = this.stdoutBuffer.slice(newline + 1);
        try {
          this.logLines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logLines.push({ msg: 'non-json', line });
        }
      }
      this.notify();
    });
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (this.stderr += text));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
    // After 'close' its output is all in: no log line can come any more.
    child.on('close', () => {
      this.outputClosed = true;
      this.notify();
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Starts `outpost serve --config FILE` and waits for its listeners; resolves with their ports by mode. */
  static async start(configFile: string, env: Record<string, string> = {}, startWaitMs = 10_000): Promise<ServeProcess> {
    const child = spawn(process.execPath, [CLI_PATH, 'serve', '--config', configFile], {
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const serve = new ServeProcess(child);
    try {
      await serve.waitForLog((line) => line['msg'] === 'outpost started', startWaitMs);
    } catch (error) {
      child.kill('SIGKILL'); // never leave a half-started server behind
      throw error;
    }
    return serve;
  }

  /** Port of the first listener of this mode, from the 'listening' log line. */
  port(mode = 'mta'): number {
    const line = this.logLines.find((entry) => entry['msg'] === 'listening' && entry['mode'] === mode);
    if (line === undefined || typeof line['port'] !== 'number') throw new Error(`no ${mode} listener in the log`);
    return line['port'];
  }

  /**
   * The first log line from index `fromLine` on, already logged or logged later, that `match`
   * accepts; `match` sees each line once, in order. Rejects if outpost exits first, or after
   * `waitMs` (a guard against a hang, not a measurement).
   */
  waitForLog(match: (line: Record<string, unknown>) => boolean, waitMs = 10_000, fromLine = 0): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      let checked = fromLine;
      const check = (): void => {
        for (; checked < this.logLines.length; checked += 1) {
          const line = this.logLines[checked] as Record<string, unknown>;
          if (match(line)) return finish(() => resolve(line));
        }
        if (this.outputClosed) finish(() => reject(new Error(`outpost exited (${this.exitCode}) before the expected log line; stderr: ${this.stderr}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`expected log line did not appear within ${waitMs} ms; log: ${JSON.stringify(this.logLines.slice(-5))}`))), waitMs);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  /** Waits for the process to exit; kills it after `waitMs`. */
  async exit(waitMs = 15_000): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), waitMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
