// A Python test server (aiosmtpd with a scripted handler) that prints one JSON
// line per event on stdout, {"event": "ready", "port": N} first: started with
// its script and one JSON argument, its events collected and waited for.

import { spawn, type ChildProcess } from 'node:child_process';
import { DEBIAN_PYTHON, stopPythonServer } from './aiosmtpd-capture.js';

export type PythonEvent = Record<string, unknown> & { readonly event: string };

export class PythonEventServer {
  readonly events: PythonEvent[] = [];
  port = 0;
  #waiters: (() => void)[] = [];

  private constructor(private readonly child: ChildProcess) {}

  /** Runs `script` with `argument` (JSON) as its one argument; resolves once it printed its port. */
  static async start(script: string, argument: unknown): Promise<PythonEventServer> {
    const child = spawn(DEBIAN_PYTHON, ['-u', '-c', script, JSON.stringify(argument)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const server = new PythonEventServer(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      buffered += text;
      for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
        const event = JSON.parse(buffered.slice(0, newline)) as PythonEvent;
        buffered = buffered.slice(newline + 1);
        if (event.event === 'ready') server.port = Number(event['port']);
        else server.events.push(event);
      }
      for (const wake of server.#waiters.splice(0)) wake();
    });
    const exited = new Promise<never>((_resolve, reject) => child.once('exit', (code) => reject(new Error(`aiosmtpd exited with ${code}: ${stderr}`))));
    exited.catch(() => undefined);
    await Promise.race([server.#until(() => server.port !== 0), exited]);
    return server;
  }

  /** The events of one kind, in order. */
  of(kind: string): PythonEvent[] {
    return this.events.filter((event) => event.event === kind);
  }

  /** Resolves once `count` events of `kind` have arrived (the server prints them as they happen). */
  async waitFor(kind: string, count: number): Promise<PythonEvent[]> {
    await this.#until(() => this.of(kind).length >= count);
    return this.of(kind);
  }

  stop(): Promise<void> {
    return stopPythonServer(this.child);
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}
