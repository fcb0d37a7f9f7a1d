// delivery.bind: outbound connections leave from the configured source address
// of their family (the server sees it), and from the system's choice otherwise.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { NetConnector, sourceAddressFor } from '../../src/delivery/connector.js';
import { systemClock } from '../../src/core/clock.js';

async function remoteAddressSeen(bind: { ipv4?: string; ipv6?: string }): Promise<string | undefined> {
  const seen: string[] = [];
  const server = createServer((socket) => {
    seen.push(socket.remoteAddress ?? '');
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const socket = await new NetConnector({ clock: systemClock, bind }).connect({ host: '127.0.0.1', port, timeoutMs: 5_000, signal: new AbortController().signal });
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return seen[0];
}

it('connects from delivery.bind.ipv4 to IPv4 hosts', async () => {
  assert.equal(await remoteAddressSeen({ ipv4: '127.0.0.7', ipv6: '::1' }), '127.0.0.7');
  assert.equal(await remoteAddressSeen({ ipv4: '' }), '127.0.0.1');
});

it('picks the source address by the family of the destination', () => {
  const bind = { ipv4: '192.0.2.1', ipv6: '2001:db8::1' };
  assert.equal(sourceAddressFor('198.51.100.7', bind), '192.0.2.1');
  assert.equal(sourceAddressFor('2001:db8::25', bind), '2001:db8::1');
  assert.equal(sourceAddressFor('2001:db8::25', { ipv4: '192.0.2.1' }), undefined);
  assert.equal(sourceAddressFor('198.51.100.7', { ipv4: '', ipv6: '' }), undefined);
});
