// Runs every doctor check through an injected Resolver: host-wide rows (hostname,
// reverse DNS, HELO SPF) first, then per local domain SPF, DKIM, DMARC, MX, SRV,
// MTA-STS and TLS-RPT, in a fixed order.

import type { Config } from '../config/types.js';
import { loadDkimKeys, type DkimKey, type LoadedKeys } from '../dkim/keys.js';
import type { Resolver } from '../dns/resolver.js';
import { checkDkim, keyFileRows } from './dkim-check.js';
import { checkDmarc } from './dmarc-check.js';
import { checkMx, checkSubmissionSrv } from './mx-srv-check.js';
import { doctorReport, type DoctorCheck, type DoctorReport } from './report.js';
import { checkHostname, checkReverseDns } from './reverse-check.js';
import { checkSpf } from './spf-check.js';
import { checkMtaSts, checkTlsRpt } from './sts-check.js';

/** The parts of the config the doctor reads (structurally a `Config`). */
export type DoctorConfig = Pick<Config, 'hostname' | 'domains' | 'publicAddresses' | 'listen'> & {
  readonly dns: Pick<Config['dns'], 'ipv6'>;
  readonly dkim: Pick<Config['dkim'], 'keysFolder'>;
};

export interface DoctorInput {
  readonly config: DoctorConfig;
  readonly resolver: Resolver;
  /** The keys on disk as loadDkimKeys returned them. */
  readonly dkim: LoadedKeys;
  /** Only these local domains; default all of config.domains. */
  readonly domains?: readonly string[];
}

async function domainChecks(input: DoctorInput, domain: string, keys: readonly DkimKey[]): Promise<DoctorCheck[]> {
  const { config, resolver } = input;
  const groups = await Promise.all([
    checkSpf({ resolver, domain, hostname: config.hostname, publicAddresses: config.publicAddresses, role: 'mail-from' }),
    checkDkim({ resolver, domain, keys }),
    checkDmarc({ resolver, domain }),
    checkMx({ resolver, domain, hostname: config.hostname, listen: config.listen }),
    checkSubmissionSrv({ resolver, domain, hostname: config.hostname, listen: config.listen }),
    checkMtaSts({ resolver, domain }),
    checkTlsRpt({ resolver, domain }),
  ]);
  return groups.flat();
}

async function hostChecks(input: DoctorInput, domains: readonly string[]): Promise<DoctorCheck[]> {
  const { config, resolver } = input;
  const hostname = config.hostname.toLowerCase();
  const host = { resolver, hostname, publicAddresses: config.publicAddresses, ipv6Enabled: config.dns.ipv6 };
  const groups = await Promise.all([
    checkHostname(host),
    checkReverseDns(host),
    // Bounces go out with MAIL FROM <>, so receivers check SPF for the HELO name (RFC 7208 §2.3).
    domains.includes(hostname) ? Promise.resolve([]) : checkSpf({ resolver, domain: hostname, hostname, publicAddresses: config.publicAddresses, role: 'helo' }),
  ]);
  return groups.flat();
}

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const domains = [...(input.domains ?? [...input.config.domains])].map((domain) => domain.toLowerCase()).sort();
  const hostname = input.config.hostname.toLowerCase();
  const [host, ...perDomain] = await Promise.all([
    hostChecks(input, domains),
    ...domains.map((domain) => domainChecks(input, domain, input.dkim.keys.filter((key) => key.domain === domain))),
  ]);
  const keyFiles = keyFileRows(input.config.dkim.keysFolder, hostname, input.dkim.problems, input.dkim.warnings).filter(
    (row) => input.domains === undefined || domains.includes(row.domain),
  );
  return doctorReport([...(host ?? []), ...perDomain.flat(), ...keyFiles]);
}

/** Loads the DKIM keys named by the config, then runs the checks: what `outpost doctor` and the serve-time monitor call. */
export async function runDoctorFromConfig(config: DoctorConfig, resolver: Resolver, domains?: readonly string[]): Promise<DoctorReport> {
  const dkim = await loadDkimKeys(config.dkim.keysFolder, (domain) => config.domains.has(domain));
  return runDoctor({ config, resolver, dkim, ...(domains === undefined ? {} : { domains }) });
}
