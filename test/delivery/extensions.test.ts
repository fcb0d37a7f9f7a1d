// The outbound SMTP client's use of ESMTP (PIPELINING, SIZE, 8BITMIME,
// SMTPUTF8, HELO fallback), dot-stuffing, connection reuse and malformed
// replies, against the scripted fake MTA over real loopback sockets.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeMtaPool, planTo, outboundMessage, outcomeOf, runJob, transportFor } from './fixtures.js';

const fakeMta = fakeMtaPool(after);


describe('ESMTP extensions', () => {
  it('pipelines MAIL, every RCPT and DATA in one write when PIPELINING is offered', async () => {
    const mta = await fakeMta({ extensions: { pipelining: true } });
    const { transport } = transportFor(planTo(mta));
    await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test', 'b@dest.test'])]);
    const chunks = mta.sessions[0]?.chunks ?? [];
    assert.ok(chunks.includes('MAIL FROM:<sender@origin.test>\r\nRCPT TO:<a@dest.test>\r\nRCPT TO:<b@dest.test>\r\nDATA\r\n'), JSON.stringify(chunks));
  });

  it('sends one command at a time without PIPELINING', async () => {
    const mta = await fakeMta({ extensions: { pipelining: false } });
    await runJob(transportFor(planTo(mta)).transport, 'dest.test', [outboundMessage('m1', ['a@dest.test', 'b@dest.test'])]);
    const chunks = mta.sessions[0]?.chunks ?? [];
    assert.ok(chunks.includes('RCPT TO:<b@dest.test>\r\n'), JSON.stringify(chunks));
    assert.equal(mta.messages.length, 1);
  });

  it('declares SIZE, BODY=8BITMIME and SMTPUTF8 when offered and needed', async () => {
    const mta = await fakeMta({ extensions: { size: 1_000_000, eightBitMime: true, smtpUtf8: true } });
    const body = 'Subject: caf\u00e9\r\n\r\n\u00e9t\u00e9\r\n';
    const message = outboundMessage('m1', ['j\u00fcrgen@dest.test'], body, { eightBit: true, smtputf8: true, from: 'sender@origin.test' });
    const reports = await runJob(transportFor(planTo(mta)).transport, 'dest.test', [message]);
    assert.equal(outcomeOf(reports, 'm1', 'j\u00fcrgen@dest.test').kind, 'delivered');
    assert.equal(mta.messages[0]?.mailParams, `SIZE=${Buffer.byteLength(body)} BODY=8BITMIME SMTPUTF8`);
    assert.equal(mta.messages[0]?.data.toString('utf8'), body);
  });

  it('declares nothing the server did not offer', async () => {
    const mta = await fakeMta({ extensions: { eightBitMime: false } });
    await runJob(transportFor(planTo(mta)).transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'], 'x\r\n', { eightBit: true })]);
    assert.equal(mta.messages[0]?.mailParams, '');
  });

  it('fails a message larger than the announced SIZE with 5.3.4 without sending it', async () => {
    const mta = await fakeMta({ extensions: { size: 100 } });
    const reports = await runJob(transportFor(planTo(mta)).transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'], 'x'.repeat(98) + '\r\n\r\n')]);
    const outcome = outcomeOf(reports, 'm1', 'a@dest.test');
    assert.equal(outcome.kind, 'permanent');
    assert.equal(outcome.status, '5.3.4');
    assert.equal(outcome.remoteMta, 'mx1.dest.test');
    await mta.waitForIdle();
    assert.ok(!mta.sessions[0]?.commands.some((command) => command.startsWith('MAIL')));
  });

  it('fails with 5.6.7 when SMTPUTF8 is needed but not offered', async () => {
    const mta = await fakeMta({ extensions: { smtpUtf8: false } });
    const reports = await runJob(transportFor(planTo(mta)).transport, 'dest.test', [outboundMessage('m1', ['j\u00fcrgen@dest.test'], 'x\r\n', { smtputf8: true })]);
    const outcome = outcomeOf(reports, 'm1', 'j\u00fcrgen@dest.test');
    assert.equal(outcome.kind, 'permanent');
    assert.equal(outcome.status, '5.6.7');
    await mta.waitForIdle();
    assert.ok(!mta.sessions[0]?.commands.some((command) => command.startsWith('MAIL')));
  });

  it('falls back to HELO when EHLO gets a 5xx', async () => {
    const mta = await fakeMta({ script: { ehlo: () => '502 5.5.2 EHLO not supported' } });
    const reports = await runJob(transportFor(planTo(mta)).transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.ok(mta.sessions[0]?.commands.includes('HELO outpost.test'));
    assert.equal(mta.messages[0]?.mailParams, '', 'no extensions after HELO');
  });
});

describe('message content and sessions', () => {
  it('dot-stuffs on the way out so the receiver gets the body exactly, across chunk boundaries', async () => {
    const mta = await fakeMta();
    const chunks = ['Subject: dots\r\n\r\nline\r\n', '.', '\r\n..\r\n.lead', 'ing\r\n.\r', '\nend\r\n'].map((text) => Buffer.from(text));
    const reports = await runJob(transportFor(planTo(mta)).transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'], chunks)]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(mta.messages[0]?.data.toString(), 'Subject: dots\r\n\r\nline\r\n.\r\n..\r\n.leading\r\n.\r\nend\r\n');
    assert.equal(mta.messages[0]?.wireData.toString(), 'Subject: dots\r\n\r\nline\r\n..\r\n...\r\n..leading\r\n..\r\nend\r\n');
  });

  it('carries a job\'s messages over one connection with RSET between', async () => {
    const mta = await fakeMta();
    const { transport, connector } = transportFor(planTo(mta));
    const messages = ['m1', 'm2', 'm3'].map((id) => outboundMessage(id, [`${id}@dest.test`], `Subject: ${id}\r\n\r\n${id}\r\n`));
    const reports = await runJob(transport, 'dest.test', messages);
    assert.deepEqual([...reports.keys()], ['m1', 'm2', 'm3']);
    for (const id of ['m1', 'm2', 'm3']) assert.equal(outcomeOf(reports, id, `${id}@dest.test`).kind, 'delivered');
    assert.equal(connector.requests.length, 1);
    assert.equal(mta.sessions.length, 1);
    assert.equal(mta.sessions[0]?.transactions, 3);
    assert.equal(mta.sessions[0]?.rsets, 2);
    assert.deepEqual(mta.messages.map((message) => message.data.toString()), ['Subject: m1\r\n\r\nm1\r\n', 'Subject: m2\r\n\r\nm2\r\n', 'Subject: m3\r\n\r\nm3\r\n']);
  });

  it('opens a new connection after maxMessagesPerSession messages', async () => {
    const mta = await fakeMta();
    const { transport } = transportFor(planTo(mta), { maxMessagesPerSession: 2 });
    const reports = await runJob(transport, 'dest.test', ['m1', 'm2', 'm3'].map((id) => outboundMessage(id, ['a@dest.test'])));
    assert.equal(reports.size, 3);
    assert.deepEqual(mta.sessions.map((session) => session.transactions), [2, 1]);
  });

  it('reconnects for the next message when the server drops the session after one', async () => {
    const mta = await fakeMta({ script: { rset: () => '421 4.3.2 closing' } });
    const reports = await runJob(transportFor(planTo(mta)).transport, 'dest.test', ['m1', 'm2'].map((id) => outboundMessage(id, ['a@dest.test'])));
    assert.equal(outcomeOf(reports, 'm2', 'a@dest.test').kind, 'delivered');
    assert.equal(mta.sessions.length, 2);
  });
});

describe('malformed replies', () => {
  it('treats a reply over the size cap as a temporary protocol error', async () => {
    const lines = Array.from({ length: 100 }, (_, index) => `250-${'x'.repeat(1000)}${index}`);
    const mta = await fakeMta({ script: { ehlo: () => [...lines, '250 SIZE'] } });
    const reports = await runJob(transportFor(planTo(mta)).transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    const outcome = outcomeOf(reports, 'm1', 'a@dest.test');
    assert.equal(outcome.kind, 'transient');
    assert.equal(outcome.status, '4.5.0');
    assert.match(outcome.reply, /reply longer than 65536 bytes/);
  });

  it('treats a reply nobody asked for as a protocol error, never as the next command\'s answer', async () => {
    const mta = await fakeMta({ script: { greeting: () => ['220 fake ready', '250 2.1.5 surprise'] } });
    const reports = await runJob(transportFor(planTo(mta)).transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    const outcome = outcomeOf(reports, 'm1', 'a@dest.test');
    assert.equal(outcome.kind, 'transient');
    assert.equal(outcome.status, '4.5.0');
    assert.equal(mta.messages.length, 0);
  });
});

