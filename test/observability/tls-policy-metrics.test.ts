// The outbound TLS policy metrics: MTA-STS fetch failures, MX hosts passed over
// because of MTA-STS, delivery.tlsPolicy or DANE, testing-mode failures and DANE host statuses,
// at 0 before their first event.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/observability/metrics.js';
import { parseExposition, sampleValue } from './exposition-parser.js';

it('exports the outbound TLS policy counters at 0 and moves them on their events', async () => {
  const metrics = new Metrics();
  const before = parseExposition(await metrics.render());
  assert.equal(before.get('outpost_mta_sts_fetch_failures_total')?.type, 'counter');
  assert.equal(sampleValue(before, 'outpost_mta_sts_fetch_failures_total'), 0);
  assert.equal(sampleValue(before, 'outpost_mta_sts_testing_failures_total'), 0);
  for (const [policy, reason] of [['mta-sts', 'mx-mismatch'], ['mta-sts', 'tls'], ['tlsPolicy', 'tls']] as const) {
    assert.equal(sampleValue(before, 'outpost_tls_policy_skips_total', { policy, reason }), 0);
  }
  metrics.mtaStsFetchFailed();
  metrics.mtaStsFetchFailed();
  metrics.tlsPolicyHostSkipped('mta-sts', 'mx-mismatch');
  metrics.tlsPolicyHostSkipped('tlsPolicy', 'tls');
  metrics.mtaStsTestingFailure();
  const after = parseExposition(await metrics.render());
  assert.equal(sampleValue(after, 'outpost_mta_sts_fetch_failures_total'), 2);
  assert.equal(sampleValue(after, 'outpost_tls_policy_skips_total', { policy: 'mta-sts', reason: 'mx-mismatch' }), 1);
  assert.equal(sampleValue(after, 'outpost_tls_policy_skips_total', { policy: 'mta-sts', reason: 'tls' }), 0);
  assert.equal(sampleValue(after, 'outpost_tls_policy_skips_total', { policy: 'tlsPolicy', reason: 'tls' }), 1);
  assert.equal(sampleValue(after, 'outpost_mta_sts_testing_failures_total'), 1);
});

it('exports the DANE skips by RFC 8460 result type and the DANE host statuses at 0, and moves them', async () => {
  const metrics = new Metrics();
  const before = parseExposition(await metrics.render());
  for (const reason of ['dnssec-invalid', 'dane-required', 'tlsa-invalid', 'starttls-not-supported', 'validation-failure']) {
    assert.equal(sampleValue(before, 'outpost_tls_policy_skips_total', { policy: 'dane', reason }), 0);
  }
  assert.equal(before.get('outpost_dane_hosts_total')?.type, 'counter');
  for (const status of ['usable', 'unusable', 'absent', 'insecure', 'failed']) assert.equal(sampleValue(before, 'outpost_dane_hosts_total', { status }), 0);
  metrics.tlsPolicyHostSkipped('dane', 'dnssec-invalid');
  metrics.daneHostStatus('usable');
  metrics.daneHostStatus('usable');
  const after = parseExposition(await metrics.render());
  assert.equal(sampleValue(after, 'outpost_tls_policy_skips_total', { policy: 'dane', reason: 'dnssec-invalid' }), 1);
  assert.equal(sampleValue(after, 'outpost_dane_hosts_total', { status: 'usable' }), 2);
  assert.equal(sampleValue(after, 'outpost_dane_hosts_total', { status: 'failed' }), 0);
});
