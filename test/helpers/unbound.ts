// A real validating resolver for tests: Debian's unbound on 127.0.0.1 and a free port,
// run in the foreground (`unbound -d -c conf`) with its own config in a temporary folder
// (never the system's service). Test zones are loaded as auth-zones "for upstream", so
// unbound validates them like answers from the Internet: zones signed here with ldnsutils
// (ldns-keygen, ldns-signzone) are secure under their DS as trust anchor, bogus where a
// signature was tampered with; unsigned zones are insecure (no trust anchor above them).

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ADDRESS = '127.0.0.1';

export interface TestZone {
  /** The zone apex, e.g. "dane.test". */
  readonly origin: string;
  /** Zone file records after $ORIGIN and $TTL (relative names allowed); SOA and NS are added. */
  readonly records: readonly string[];
  /** Sign it (ECDSAP256SHA256, NSEC) and trust its DS; otherwise it is served unsigned (insecure). */
  readonly signed: boolean;
  /** Owner names (absolute, no trailing dot) whose RRSIG of `type` gets a corrupted signature: bogus data. */
  readonly tamper?: readonly { readonly name: string; readonly type: string }[];
}

export interface Unbound {
  readonly address: string;
  readonly port: number;
  /** What unbound printed (validation failures are logged at val-log-level 2). */
  log(): string;
  stop(): Promise<void>;
}

/** A port free on 127.0.0.1 for both UDP and TCP just now. */
async function freePort(): Promise<number> {
  const tcp = createServer();
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(0, ADDRESS, () => resolve());
  });
  const address = tcp.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const udp = createSocket('udp4');
  const udpFree = await new Promise<boolean>((resolve) => {
    udp.once('error', () => resolve(false));
    udp.bind(port, ADDRESS, () => resolve(true));
  });
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
  await new Promise<void>((resolve) => udp.close(() => resolve()));
  return udpFree ? port : freePort();
}

/** Corrupts the signature (the last field) of the RRSIG lines covering `type` at `name`. */
function tamperSignatures(signed: string, targets: TestZone['tamper']): string {
  return signed
    .split('\n')
    .map((line) => {
      const fields = line.split(/\s+/);
      const hit = (targets ?? []).some(({ name, type }) => fields[0] === `${name}.` && fields[3] === 'RRSIG' && fields[4] === type);
      if (!hit) return line;
      const signature = Buffer.from(fields[fields.length - 1] ?? '', 'base64');
      signature[8] = (signature[8] ?? 0) ^ 0xff;
      return [...fields.slice(0, -1), signature.toString('base64')].join(' ');
    })
    .join('\n');
}

/** Writes the zone file (signed when asked); returns its path and, when signed, its DS record. */
async function writeZone(dir: string, zone: TestZone): Promise<{ file: string; ds: string | undefined }> {
  const apex = `${zone.origin}.`;
  const text = [`$ORIGIN ${apex}`, '$TTL 300', `@ IN SOA ns.${apex} hostmaster.${apex} 1 3600 600 86400 60`, `@ IN NS ns.${apex}`, `ns IN A ${ADDRESS}`, ...zone.records, ''].join('\n');
  const file = join(dir, `${zone.origin}.zone`);
  await writeFile(file, text);
  if (!zone.signed) return { file, ds: undefined };
  const ksk = (await run('ldns-keygen', ['-a', 'ECDSAP256SHA256', '-k', zone.origin], { cwd: dir })).stdout.trim();
  const zsk = (await run('ldns-keygen', ['-a', 'ECDSAP256SHA256', zone.origin], { cwd: dir })).stdout.trim();
  await run('ldns-signzone', [file, ksk, zsk], { cwd: dir });
  const signedFile = `${file}.signed`;
  await writeFile(signedFile, tamperSignatures(await readFile(signedFile, 'utf8'), zone.tamper));
  const ds = (await readFile(join(dir, `${ksk}.ds`), 'utf8')).trim().split(/\s+/).join(' ');
  return { file: signedFile, ds };
}

function config(dir: string, port: number, zones: readonly { origin: string; file: string; ds: string | undefined }[]): string {
  const lines = [
    'server:',
    `  interface: ${ADDRESS}`,
    `  port: ${port}`,
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 1',
    '  val-log-level: 2',
    '  num-threads: 1',
    '  access-control: 127.0.0.0/8 allow',
    '  module-config: "validator iterator"',
    '  val-permissive-mode: no',
    // The test zones live under .test, which unbound otherwise answers itself (RFC 6761).
    '  local-zone: "test." nodefault',
    ...zones.flatMap(({ ds }) => (ds === undefined ? [] : [`  trust-anchor: "${ds}"`])),
    'remote-control:',
    '  control-enable: no',
    ...zones.flatMap(({ origin, file }) => ['auth-zone:', `  name: "${origin}."`, `  zonefile: "${file}"`, '  for-upstream: yes', '  for-downstream: no', '  fallback-enabled: no']),
    '',
  ];
  return lines.join('\n');
}

interface Launched {
  readonly child: ChildProcess;
  readonly output: string[];
  readonly exited: Promise<void>;
}

/** Starts unbound once its "start of service" is logged; rejects with its output if it exits first. */
function launch(conf: string): Promise<Launched> {
  const output: string[] = [];
  const child = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output.push(chunk.toString());
      if (output.join('').includes('start of service')) resolve({ child, output, exited });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`unbound exited (${String(code)}): ${output.join('')}`)));
  });
}

export async function startUnbound(zones: readonly TestZone[]): Promise<Unbound> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-unbound-'));
  const written = await Promise.all(zones.map(async (zone) => ({ origin: zone.origin, ...(await writeZone(dir, zone)) })));
  let lastError: unknown;
  // The port was free a moment ago; another process may take it first: try again then.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const conf = join(dir, 'unbound.conf');
    await writeFile(conf, config(dir, port, written));
    try {
      const { child, output, exited } = await launch(conf);
      return {
        address: ADDRESS,
        port,
        log: () => output.join(''),
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error: unknown) {
      lastError = error;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}
