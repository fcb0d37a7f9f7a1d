// Each MX host's TLS from its destination's policy and its DANE status (pure): DANE
// before MTA-STS for usable TLSA records (RFC 8461 §2), unusable records require TLS
// unless MTA-STS enforce asks for more (RFC 7672 §2.2), a failed lookup skips the host
// (§2.1.1), tlsPolicy dane skips what DANE cannot authenticate, other levels rule alone.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DaneHostStatus } from '../../src/dane/host-status.js';
import { hostTls } from '../../src/delivery/host-tls.js';
import { OPPORTUNISTIC_TLS, type SessionTls } from '../../src/delivery/session-setup.js';
import type { DestinationTls, FoundSts } from '../../src/delivery/tls-policy.js';
import type { PlanSuccess } from '../../src/dns/next-hop.js';

const PLAN: PlanSuccess = {
  ok: true,
  domain: 'dest.test',
  source: 'mx',
  mxSecure: true,
  hosts: [{ host: 'mx1.dest.test', preference: 10, port: 25, addresses: ['192.0.2.1'], ttlSeconds: 300, addressesSecure: true }],
};
const RECORD = { usage: 3, selector: 1, matchingType: 1, certificateData: new Uint8Array(32) };
const NAME = '_25._tcp.mx1.dest.test';
const STATUS: Readonly<Record<DaneHostStatus['status'], DaneHostStatus>> = {
  usable: { status: 'usable', name: NAME, records: [RECORD], usable: [RECORD] },
  unusable: { status: 'unusable', name: NAME, records: [{ ...RECORD, usage: 1 }] },
  absent: { status: 'absent', name: NAME, reason: `no TLSA records at ${NAME}` },
  insecure: { status: 'insecure', name: NAME, reason: 'the MX records of dest.test are not DNSSEC-secure' },
  failed: { status: 'failed', name: NAME, reason: `TLSA lookup of ${NAME} failed: servfail (SERVFAIL from 127.0.0.1)` },
};
const VERIFY: SessionTls = { mode: 'starttls', verify: true, ca: undefined, requiredBy: 'the MTA-STS policy of dest.test' };

function sts(mode: 'enforce' | 'testing', mx: readonly string[]): DestinationTls {
  const found: FoundSts = { kind: 'policy', domain: 'dest.test', id: '1', policy: { mode, mx, maxAgeSeconds: 86_400 }, source: 'cached', fetchedAtMs: 0, expiresAtMs: 1 };
  return { source: 'mta-sts', sts: found, tls: mode === 'enforce' ? VERIFY : { ...OPPORTUNISTIC_TLS, verify: true } };
}

const OPPORTUNISTIC: DestinationTls = { source: 'default', tls: OPPORTUNISTIC_TLS, sts: undefined };
const level = (value: 'dane' | 'verify'): DestinationTls => ({ source: 'tlsPolicy', level: value, tls: { mode: 'starttls', verify: value === 'verify', ca: undefined, requiredBy: `delivery.tlsPolicy (${value}) of dest.test` } });

/** verdict, TLS mode, verify, DANE check present, enforcedBy, skip result type. */
function summary(decided: DestinationTls, status: DaneHostStatus | undefined): unknown[] {
  const [host] = hostTls(decided, PLAN, status === undefined ? undefined : [status], undefined);
  assert.ok(host);
  return [host.verdict, host.tls.mode, host.tls.verify, host.tls.dane !== undefined, host.enforcedBy, host.skipped?.resultType];
}

describe('host TLS', () => {
  it('uses DANE for usable records, with the MX name and the domain as DANE-TA names', () => {
    assert.deepEqual(summary(OPPORTUNISTIC, STATUS.usable), ['use', 'starttls', false, true, 'dane', undefined]);
    const [host] = hostTls(OPPORTUNISTIC, PLAN, [STATUS.usable], undefined);
    assert.deepEqual(host?.tls.dane?.names, ['mx1.dest.test', 'dest.test']);
  });

  it('puts DANE before MTA-STS: enforce naming another host, and testing', () => {
    assert.deepEqual(summary(sts('enforce', ['mx.elsewhere.test']), STATUS.usable), ['use', 'starttls', false, true, 'dane', undefined]);
    const [testing] = hostTls(sts('testing', ['mx.elsewhere.test']), PLAN, [STATUS.usable], undefined);
    assert.deepEqual([testing?.verdict, testing?.testing], ['use', false]);
  });

  it('requires TLS without authentication for unusable records, unless MTA-STS enforce verifies', () => {
    assert.deepEqual(summary(OPPORTUNISTIC, STATUS.unusable), ['use', 'starttls', false, false, 'dane', undefined]);
    assert.deepEqual(summary(sts('enforce', ['mx1.dest.test']), STATUS.unusable), ['use', 'starttls', true, false, 'mta-sts', undefined]);
  });

  it('skips a host whose TLSA lookup failed, whatever else applies', () => {
    assert.deepEqual(summary(OPPORTUNISTIC, STATUS.failed), ['skip', 'opportunistic', false, false, 'dane', 'dnssec-invalid']);
    assert.deepEqual(summary(sts('enforce', ['mx1.dest.test']), STATUS.failed).at(-1), 'dnssec-invalid');
  });

  it('leaves absent and insecure records to MTA-STS and opportunistic TLS', () => {
    assert.deepEqual(summary(OPPORTUNISTIC, STATUS.absent), ['use', 'opportunistic', false, false, undefined, undefined]);
    assert.deepEqual(summary(sts('enforce', ['mx1.dest.test']), STATUS.insecure), ['use', 'starttls', true, false, 'mta-sts', undefined]);
    assert.deepEqual(summary(sts('enforce', ['mx.elsewhere.test']), STATUS.absent), ['skip', 'starttls', true, false, 'mta-sts', 'validation-failure']);
  });

  it('tlsPolicy dane: DANE or skipped (dane-required, tlsa-invalid)', () => {
    assert.deepEqual(summary(level('dane'), STATUS.usable).slice(0, 5), ['use', 'starttls', false, true, 'dane']);
    assert.deepEqual(summary(level('dane'), STATUS.absent).at(-1), 'dane-required');
    assert.deepEqual(summary(level('dane'), STATUS.insecure).at(-1), 'dane-required');
    assert.deepEqual(summary(level('dane'), STATUS.unusable).at(-1), 'tlsa-invalid');
    assert.deepEqual(summary(level('dane'), undefined).at(-1), 'dane-required');
  });

  it('other tlsPolicy levels rule alone (DANE is not consulted for them)', () => {
    assert.deepEqual(summary(level('verify'), undefined), ['use', 'starttls', true, false, 'tlsPolicy', undefined]);
  });
});
