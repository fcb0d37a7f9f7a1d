// A message's header prefix (the stored DKIM-Signature fields) goes on the
// wire in front of the stored body, through the same dot-stuffing.

import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeMtaPool, fixedPlan, outboundMessage, outcomeOf, runJob, transportFor } from './fixtures.js';

const startMta = fakeMtaPool(after);

it('sends the header prefix first, dot-stuffed with the body', async () => {
  const mta = await startMta();
  const { transport } = transportFor(fixedPlan({ host: 'mx.dest.test', addresses: ['127.0.0.1'], port: mta.port }));
  const prefix = Buffer.from('DKIM-Signature: v=1; a=ed25519-sha256; d=example.org;\r\n b=abc\r\n');
  const body = 'Subject: signed\r\n\r\n.starts with a dot\r\n';
  const message = { ...outboundMessage('m1', ['a@dest.test'], body, { sizeBytes: prefix.length + body.length }), headerPrefix: prefix };
  const reports = await runJob(transport, 'dest.test', [message]);
  assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
  assert.equal(mta.messages[0]?.data.toString('utf8'), prefix.toString('utf8') + body);
});
