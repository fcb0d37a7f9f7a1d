// The default gateways read from the Linux route tables, on tables as the kernel writes them
// (a Docker bridge container, a host with an IPv6 default route, a machine without any).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ipv4DefaultGateways, ipv6DefaultGateways, systemGatewayReader } from '../../src/core/default-gateway.js';

/** /proc/net/route inside a container on Docker's default bridge (gateway 172.17.0.1). */
const DOCKER_ROUTE = [
  'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       ',
  'eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0                                                                               ',
  'eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0                                                                               ',
  '',
].join('\n');

/** /proc/net/ipv6_route with a default route via fd00::1 (the kernel's own lines, loopback included). */
const IPV6_ROUTE = [
  'fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
  '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0',
  '00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000004 00000000 80200001       lo',
  '00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo',
  '',
].join('\n');

describe('IPv4 route table', () => {
  it('finds the Docker bridge gateway (little-endian hex) and ignores the on-link route', () => {
    assert.deepEqual(ipv4DefaultGateways(DOCKER_ROUTE, true), ['172.17.0.1']);
  });

  it('reads the hex in network order on a big-endian machine', () => {
    assert.deepEqual(ipv4DefaultGateways(DOCKER_ROUTE.replace('010011AC', 'AC110001'), false), ['172.17.0.1']);
  });

  it('finds nothing without a default route, or when the default route is down or has no gateway', () => {
    const lines = DOCKER_ROUTE.split('\n');
    assert.deepEqual(ipv4DefaultGateways([lines[0], lines[2]].join('\n'), true), []);
    assert.deepEqual(ipv4DefaultGateways(DOCKER_ROUTE.replace('010011AC\t0003', '010011AC\t0002'), true), []);
    assert.deepEqual(ipv4DefaultGateways(DOCKER_ROUTE.replace('010011AC\t0003', '00000000\t0001'), true), []);
    assert.deepEqual(ipv4DefaultGateways('', true), []);
  });
});

describe('IPv6 route table', () => {
  it('finds the next hop of ::/0 and skips loopback and reject routes', () => {
    assert.deepEqual(ipv6DefaultGateways(IPV6_ROUTE), ['fd00::1']);
  });

  it('finds nothing without a default route', () => {
    assert.deepEqual(ipv6DefaultGateways(IPV6_ROUTE.split('\n').filter((line) => !line.includes('fd000000000000000000000000000001')).join('\n')), []);
  });
});

describe('the system reader', () => {
  it('reads both tables through the injected reader; a missing table means no gateway', async () => {
    const files: Record<string, string> = { '/proc/net/route': DOCKER_ROUTE, '/proc/net/ipv6_route': IPV6_ROUTE };
    const read = (path: string): Promise<string> => (files[path] === undefined ? Promise.reject(new Error('ENOENT')) : Promise.resolve(files[path]));
    assert.deepEqual(await systemGatewayReader(read)(), ['172.17.0.1', 'fd00::1']);
    delete files['/proc/net/ipv6_route'];
    assert.deepEqual(await systemGatewayReader(read)(), ['172.17.0.1']);
    assert.deepEqual(await systemGatewayReader(() => Promise.reject(new Error('ENOENT')))(), []);
  });
});
