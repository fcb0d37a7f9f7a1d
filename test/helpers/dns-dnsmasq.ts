// Test helper: runs Debian's dnsmasq (package dnsmasq-base) as a child process
// on 127.0.0.1 and a free high port, serving only the records given as options.

import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { access, constants } from 'node:fs/promises';
import { createServer } from 'node:net';

export const DNSMASQ_PATH = '/usr/sbin/dnsmasq';

export interface RunningDnsmasq {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A port free for both UDP and TCP on 127.0.0.1 at the time of asking. */
async function freePort(): Promise<number> {
  for (;;) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve) => udp.bind(0, '127.0.0.1', () => resolve(udp.address().port)));
    const tcp = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (ok) {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      return port;
    }
  }
}

function waitForStart(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (/started, version/.test(output) && /cleared cache|using only locally-known/.test(output)) {
        child.stderr?.off('data', onData);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`dnsmasq exited with ${String(code)} before starting:\n${output}`)));
    child.once('error', reject);
  });
}

/** Starts dnsmasq; fails loudly when it is not installed (CI installs dnsmasq-base). */
export async function startDnsmasq(recordOptions: readonly string[]): Promise<RunningDnsmasq> {
  try {
    await access(DNSMASQ_PATH, constants.X_OK);
  } catch {
    throw new Error(`${DNSMASQ_PATH} not found: install the Debian package dnsmasq-base`);
  }
  const port = await freePort();
  const args = [
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--no-resolv',
    '--no-hosts',
    '--no-daemon',
    '--conf-file=/dev/null',
    '--log-facility=-',
    '--pid-file=',
    '--user=',
    ...recordOptions,
  ];
  const child = spawn(DNSMASQ_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForStart(child);
  return {
    address: '127.0.0.1',
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
