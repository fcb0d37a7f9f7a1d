// A capturing SMTP peer from Debian's python3-aiosmtpd: every message it
// accepts is written byte for byte (as received, dot-unstuffed) to a file, so
// tests can check what actually left outpost with independent tools.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's interpreter: the one with python3-aiosmtpd and python3-dkim (not a pyenv shim first on PATH). */
export const DEBIAN_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Ends a Python server started with stdin as its stop signal (SIGKILL after 5 s). */
export async function stopPythonServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export function aiosmtpdInstalled(): boolean {
  return existsSync('/usr/lib/python3/dist-packages/aiosmtpd');
}

const CAPTURE_SERVER = `
import json, os, socket, sys
from aiosmtpd.controller import Controller
folder, host = sys.argv[1], sys.argv[2]
class Capture:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Capture.count += 1
        name = os.path.join(folder, '%06d.eml' % Capture.count)
        with open(name + '.tmp', 'wb') as out:
            out.write(envelope.original_content)
        os.rename(name + '.tmp', name)
        with open(name + '.json', 'w') as out:
            json.dump({'from': envelope.mail_from, 'rcpts': envelope.rcpt_tos, 'mail_options': envelope.mail_options, 'peer': '%s:%d' % tuple(session.peer[:2])}, out)
        print(json.dumps({'captured': Capture.count}), flush=True)
        return '250 2.0.0 captured'
probe = socket.socket()
probe.bind((host, 0))
port = probe.getsockname()[1]
probe.close()
controller = Controller(Capture(), hostname=host, port=port, enable_SMTPUTF8=True, decode_data=False, data_size_limit=64 * 1024 * 1024)
controller.start()
print(json.dumps({'port': port}), flush=True)
sys.stdin.read()
controller.stop()
`;

export interface CapturedMessage {
  readonly file: string;
  readonly data: Buffer;
  readonly from: string;
  readonly recipients: readonly string[];
  /** The client's address and port: messages with the same one came over one connection. */
  readonly peer: string;
}

export class AiosmtpdCapture {
  /** Messages written so far, as the server reports them on stdout (each after both of its files). */
  private capturedCount = 0;
  private waiters: { readonly count: number; readonly resolve: () => void }[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly folder: string,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(host = '127.0.0.1'): Promise<AiosmtpdCapture> {
    const folder = await mkdtemp(join(tmpdir(), 'outpost-capture-'));
    const child = spawn(DEBIAN_PYTHON, ['-u', '-c', CAPTURE_SERVER, folder, host], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    let capture: AiosmtpdCapture | undefined;
    let captured = 0;
    const port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      child.stdout?.setEncoding('utf8').on('data', (text: string) => {
        stdout += text;
        let newline: number;
        while ((newline = stdout.indexOf('\n')) !== -1) {
          const line = stdout.slice(0, newline);
          stdout = stdout.slice(newline + 1);
          let event: { port?: number; captured?: number };
          try {
            event = JSON.parse(line) as { port?: number; captured?: number };
          } catch {
            continue; // not one of the script's lines
          }
          if (event.port !== undefined) resolve(event.port);
          if (event.captured !== undefined) {
            captured = event.captured;
            capture?.noteCaptured(captured);
          }
        }
      });
      child.once('exit', (code) => reject(new Error(`aiosmtpd exited with ${code}: ${stderr}`)));
    });
    capture = new AiosmtpdCapture(child, folder, host, port);
    capture.noteCaptured(captured);
    return capture;
  }

  private noteCaptured(count: number): void {
    this.capturedCount = count;
    const ready = this.waiters.filter((waiter) => waiter.count <= count);
    this.waiters = this.waiters.filter((waiter) => waiter.count > count);
    for (const waiter of ready) waiter.resolve();
  }

  /** Resolves with every message captured so far once there are at least `count`; rejects after `waitMs` (a hang guard). */
  async waitForMessages(count: number, waitMs = 60_000): Promise<CapturedMessage[]> {
    if (this.capturedCount < count) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`aiosmtpd captured ${this.capturedCount} messages, not ${count}, within ${waitMs} ms`)), waitMs);
        this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      });
    }
    return this.messages();
  }

  /** Every message captured so far, in arrival order. */
  async messages(): Promise<CapturedMessage[]> {
    const names = (await readdir(this.folder)).filter((name) => name.endsWith('.eml')).sort();
    return Promise.all(
      names.map(async (name) => {
        const file = join(this.folder, name);
        const meta = JSON.parse(await readFile(`${file}.json`, 'utf8').catch(() => '{"from":"","rcpts":[],"peer":""}')) as { from: string; rcpts: string[]; peer: string };
        return { file, data: await readFile(file), from: meta.from, recipients: meta.rcpts, peer: meta.peer };
      }),
    );
  }

  async stop(): Promise<void> {
    await stopPythonServer(this.child);
    await rm(this.folder, { recursive: true, force: true });
  }
}
