// Test helper (not a test): a test DNS server per zones table with a real
// caching resolver pointed at it, and a doctor config with sensible defaults.

import { after } from 'node:test';
import type { LoadedKeys } from '../../src/dkim/keys.js';
import type { Resolver } from '../../src/dns/resolver.js';
import type { DoctorConfig } from '../../src/doctor/run.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { startDnsServer, type TestDnsServer, type Zones, type DnsFault } from '../helpers/dns-server.js';

const servers: TestDnsServer[] = [];

/** Closes every server the file started; call once at the top of a test file. */
export function closeServersAfter(): void {
  after(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
}

export interface ZoneFixture {
  readonly server: TestDnsServer;
  /** A fresh resolver (empty cache) on every call. */
  resolver(): Resolver;
}

export async function zoneFixture(zones: Zones, faults: Record<string, DnsFault> = {}): Promise<ZoneFixture> {
  const server = await startDnsServer({ zones, faults });
  servers.push(server);
  return { server, resolver: () => resolverFor([server]).resolver };
}

export const NO_KEYS: LoadedKeys = { keys: [], problems: [], warnings: [] };

export function doctorConfig(overrides: Partial<DoctorConfig> = {}): DoctorConfig {
  return {
    hostname: 'mail.example.org',
    domains: new Set(['example.org']),
    publicAddresses: ['203.0.113.5'],
    listen: [
      { address: '0.0.0.0', port: 25, mode: 'mta' },
      { address: '0.0.0.0', port: 587, mode: 'submission' },
    ],
    dns: { ipv6: true },
    dkim: { keysFolder: '/nonexistent/dkim' },
    ...overrides,
  };
}
