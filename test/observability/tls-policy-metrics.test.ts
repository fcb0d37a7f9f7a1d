// The outbound TLS policy metrics: MTA-STS fetch failures, TLS a policy requires
// that was not had (by policy and RFC 8460 result: MTA-STS, delivery.tlsPolicy, DANE,
// REQUIRETLS), testing-mode failures and DANE host statuses,
// at 0 before their first event.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/observability/metrics.js';
import { parseExposition, sampleValue } from './exposition-parser.js';

it('exports the outbound TLS policy counters at 0 and moves them on their events', async () => {
  const metrics = new Metrics();
  const before = parseExposition(await metrics.render());
  assert.equal(before.get('outpost_mta_sts_fetch_failures_total')?.type, 'counter');
  assert.equal(before.get('outpost_tls_policy_failures_total')?.type, 'counter');
  assert.equal(before.get('outpost_tls_policy_skips_total'), undefined, 'replaced by outpost_tls_policy_failures_total');
  assert.equal(sampleValue(before, 'outpost_mta_sts_fetch_failures_total'), 0);
  assert.equal(sampleValue(before, 'outpost_mta_sts_testing_failures_total'), 0);
  const atZero = [
    ['mta-sts', 'mx-mismatch'],
    ['mta-sts', 'certificate-host-mismatch'],
    ['tlsPolicy', 'starttls-not-supported'],
    ['requiretls', 'certificate-expired'],
    ['requiretls', 'mx-not-authenticated'],
    ['requiretls', 'requiretls-not-supported'],
  ] as const;
  for (const [policy, result] of atZero) assert.equal(sampleValue(before, 'outpost_tls_policy_failures_total', { policy, result }), 0, `${policy} ${result}`);
  metrics.mtaStsFetchFailed();
  metrics.mtaStsFetchFailed();
  metrics.tlsPolicyFailure('mta-sts', 'mx-mismatch');
  metrics.tlsPolicyFailure('requiretls', 'requiretls-not-supported');
  metrics.tlsPolicyFailure('requiretls', 'requiretls-not-supported');
  metrics.tlsPolicyFailure('dane', 'tlsa-invalid');
  metrics.mtaStsTestingFailure();
  const after = parseExposition(await metrics.render());
  assert.equal(sampleValue(after, 'outpost_mta_sts_fetch_failures_total'), 2);
  assert.equal(sampleValue(after, 'outpost_tls_policy_failures_total', { policy: 'mta-sts', result: 'mx-mismatch' }), 1);
  assert.equal(sampleValue(after, 'outpost_tls_policy_failures_total', { policy: 'mta-sts', result: 'certificate-host-mismatch' }), 0);
  assert.equal(sampleValue(after, 'outpost_tls_policy_failures_total', { policy: 'requiretls', result: 'requiretls-not-supported' }), 2);
  assert.equal(sampleValue(after, 'outpost_tls_policy_failures_total', { policy: 'dane', result: 'tlsa-invalid' }), 1);
  assert.equal(sampleValue(after, 'outpost_mta_sts_testing_failures_total'), 1);
});

it('exports the DANE failures by RFC 8460 result type and the DANE host statuses at 0, and moves them', async () => {
  const metrics = new Metrics();
  const before = parseExposition(await metrics.render());
  for (const result of ['dnssec-invalid', 'dane-required', 'tlsa-invalid', 'starttls-not-supported', 'validation-failure']) {
    assert.equal(sampleValue(before, 'outpost_tls_policy_failures_total', { policy: 'dane', result }), 0, result);
  }
  assert.equal(before.get('outpost_dane_hosts_total')?.type, 'counter');
  for (const status of ['usable', 'unusable', 'absent', 'insecure', 'failed']) assert.equal(sampleValue(before, 'outpost_dane_hosts_total', { status }), 0);
  metrics.tlsPolicyFailure('dane', 'dnssec-invalid');
  metrics.daneHostStatus('usable');
  metrics.daneHostStatus('usable');
  const after = parseExposition(await metrics.render());
  assert.equal(sampleValue(after, 'outpost_tls_policy_failures_total', { policy: 'dane', result: 'dnssec-invalid' }), 1);
  assert.equal(sampleValue(after, 'outpost_tls_policy_failures_total', { policy: 'dane', result: 'validation-failure' }), 0);
  assert.equal(sampleValue(after, 'outpost_dane_hosts_total', { status: 'usable' }), 2);
  assert.equal(sampleValue(after, 'outpost_dane_hosts_total', { status: 'failed' }), 0);
});
