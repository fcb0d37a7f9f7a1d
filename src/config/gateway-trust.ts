// The Docker open-relay guard: a trustedNetworks entry that contains the machine's default gateway
// is refused (unless `trustGateway: true`). With Docker port publishing (docker-proxy, or hairpin
// NAT), connections from anywhere can reach the container from the bridge gateway (e.g. 172.17.0.1),
// so trusting "the Docker network" trusts the whole Internet. Loopback never counts.

import { isIP } from 'node:net';
import { NetworkSet, parseCidr, unmapIpv4, type Cidr } from '../core/network.js';
import type { Issue } from './validate.js';

function isLoopback(address: string): boolean {
  return isIP(address) === 4 ? address.startsWith('127.') : address === '::1';
}

/** One issue per trustedNetworks entry that contains a (non-loopback) default gateway. */
export function gatewayTrustIssues(trustedNetworks: readonly string[], gateways: readonly string[], trustGateway: boolean): Issue[] {
  if (trustGateway) return [];
  const candidates = gateways.map(unmapIpv4).filter((gateway) => isIP(gateway) !== 0 && !isLoopback(gateway));
  const issues: Issue[] = [];
  trustedNetworks.forEach((entry, index) => {
    const cidr: Cidr | undefined = parseCidr(entry);
    if (cidr === undefined) return;
    const network = new NetworkSet([cidr]);
    // node:net's BlockList also matches IPv4 addresses against IPv6 networks (::/0 holds them all), as the relay rule does.
    const contained = candidates.filter((address) => network.contains(address));
    const gateway = contained.find((address) => (isIP(address) === 4) === (cidr.family === 'ipv4')) ?? contained[0];
    if (gateway === undefined) return;
    issues.push({
      path: `trustedNetworks[${index}]`,
      problem:
        `${entry} contains ${gateway}, this machine's default gateway: behind Docker port publishing (or any NAT) ` +
        `outside clients can arrive from the gateway's address, so trusting it makes outpost an open relay. ` +
        `Trust the applications' own addresses instead (or use AUTH), or set trustGateway: true (OUTPOST_TRUST_GATEWAY=true) if only trusted hosts can reach outpost through that gateway`,
    });
  });
  return issues;
}
