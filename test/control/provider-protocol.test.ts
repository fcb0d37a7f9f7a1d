// The provider-state request of the control channel (`outpost queue why` asking a running server).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProviderStateRequest } from '../../src/control/provider-protocol.js';

test('parses provider-state requests and refuses malformed ones', () => {
  assert.deepEqual(parseProviderStateRequest('{"action":"provider-state","providers":["google.com","outlook.com"]}'), {
    action: 'provider-state',
    providers: ['google.com', 'outlook.com'],
  });
  for (const line of [
    'not json',
    '{"action":"flush"}',
    '{"action":"provider-state"}',
    '{"action":"provider-state","providers":"google.com"}',
    '{"action":"provider-state","providers":[1]}',
    '{"action":"provider-state","providers":["bad name"]}',
    JSON.stringify({ action: 'provider-state', providers: Array.from({ length: 65 }, (_, i) => `p${i}.test`) }),
  ]) {
    assert.equal(parseProviderStateRequest(line), undefined, line);
  }
});
