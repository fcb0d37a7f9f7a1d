// resolv.conf parsing: nameservers (max 3), options timeout:/attempts:, comments;
// and which settings the resolver ends up with.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseResolvConf } from '../../src/dns/resolv-conf.js';
import { clientSettings } from '../../src/dns/setup.js';

describe('resolv.conf', () => {
  const folders: string[] = [];
  after(async () => {
    await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
  });

  const cases: [string, string, ReturnType<typeof parseResolvConf>][] = [
    ['empty file', '', { servers: [] }],
    ['one IPv4 server', 'nameserver 127.0.0.53\n', { servers: [{ host: '127.0.0.53', port: 53 }] }],
    ['IPv6 and comments', '# c\nnameserver ::1 ; x\n;nameserver 127.0.0.9\nsearch example\n', { servers: [{ host: '::1', port: 53 }] }],
    ['at most three', 'nameserver 127.0.0.1\nnameserver 127.0.0.2\nnameserver 127.0.0.3\nnameserver 127.0.0.4\n', {
      servers: [1, 2, 3].map((last) => ({ host: `127.0.0.${last}`, port: 53 })),
    }],
    ['not an address', 'nameserver dns.example\n', { servers: [] }],
    ['options', 'nameserver 127.0.0.1\noptions ndots:2 timeout:1 attempts:4 rotate\n', { servers: [{ host: '127.0.0.1', port: 53 }], timeoutMs: 1000, attempts: 4 }],
    ['limits', 'options timeout:99 attempts:9\n', { servers: [], timeoutMs: 30_000, attempts: 5 }],
  ];
  for (const [name, text, expected] of cases) {
    it(`parses ${name}`, () => assert.deepEqual(parseResolvConf(text), expected));
  }

  it('uses configured servers with the configured timeout, else resolv.conf, else loopback', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'outpost-dns-'));
    folders.push(folder);
    const path = join(folder, 'resolv.conf');
    await writeFile(path, 'nameserver 127.0.0.9\noptions timeout:2\n');
    const configured = await clientSettings({ servers: [{ host: '127.0.0.5', port: 5353 }], timeoutMs: 3000 }, path);
    assert.deepEqual(configured, { servers: [{ host: '127.0.0.5', port: 5353 }], timeoutMs: 3000, attempts: 2 });
    assert.deepEqual(await clientSettings({ servers: [], timeoutMs: 3000 }, path), { servers: [{ host: '127.0.0.9', port: 53 }], timeoutMs: 2000, attempts: 2 });
    const fallback = await clientSettings({ servers: [], timeoutMs: 3000 }, join(folder, 'missing'));
    assert.deepEqual(fallback.servers.map((server) => server.host), ['127.0.0.1', '::1']);
  });
});
