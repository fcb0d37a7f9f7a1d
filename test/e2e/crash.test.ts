// Crash durability: `250` after DATA means on disk. The real server is
// killed with SIGKILL right after each 250; after every restart all
// acknowledged messages are listed with their bodies intact.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { systemClock } from '../../src/core/clock.js';
import { Spool } from '../../src/spool/spool.js';
import { makeInstallation, runOutpost, ServeProcess } from '../helpers/outpost-process.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';

const ROUNDS = 5;
const MESSAGES_PER_ROUND = 3;

function messageText(round: number, index: number): string {
  const filler = randomBytes(3000).toString('base64').replace(/.{76}/g, '$&\r\n');
  return `Subject: crash ${round}.${index}\r\nX-Round: ${round}\r\n\r\n${filler}\r\nend of ${round}.${index}\r\n`;
}

describe('kill -9 right after 250', () => {
  it('loses no acknowledged message across repeated crashes', async () => {
    const installation = await makeInstallation();
    const acknowledged = new Map<string, string>();
    for (let round = 0; round < ROUNDS; round++) {
      const serve = await ServeProcess.start(installation.configFile);
      const client = await SmtpTestClient.connect(serve.port());
      await client.reply();
      await client.command('EHLO crash.example.net');
      for (let index = 0; index < MESSAGES_PER_ROUND; index++) {
        await client.command('MAIL FROM:<app@example.org>');
        await client.command(`RCPT TO:<r${round}.${index}@example.net>`);
        assert.equal((await client.command('DATA')).code, 354);
        const text = messageText(round, index);
        client.write(`${text}.\r\n`);
        const reply = await client.reply();
        assert.match(reply.text, /^250 2\.0\.0 Ok: queued as (\w+)/);
        acknowledged.set(/queued as (\w+)/.exec(reply.text)?.[1] ?? '', text);
        if (index === MESSAGES_PER_ROUND - 1) await serve.kill9();
      }
      client.close();
    }

    const listed = await runOutpost(['queue', 'list', '--json', '--config', installation.configFile]);
    assert.equal(listed.code, 0, listed.stderr);
    const entries = JSON.parse(listed.stdout) as { id: string }[];
    assert.deepEqual(new Set(entries.map((entry) => entry.id)), new Set(acknowledged.keys()));

    const spool = await Spool.open({ dir: installation.spoolDir, clock: systemClock, logger: pino({ level: 'silent' }), recover: false });
    for (const [id, text] of acknowledged) {
      const chunks: Buffer[] = [];
      for await (const chunk of spool.openBody(id)) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      assert.ok(body.startsWith('Received: '), `${id} starts with our Received header`);
      assert.ok(body.endsWith(text), `${id} body intact`);
    }
    await spool.close();

    // A restart after the crashes recovers cleanly and still lists everything.
    const serve = await ServeProcess.start(installation.configFile);
    serve.signal('SIGTERM');
    assert.equal(await serve.exit(), 0);
    const again = JSON.parse((await runOutpost(['queue', 'list', '--json', '--config', installation.configFile])).stdout) as unknown[];
    assert.equal(again.length, acknowledged.size);
    await installation.remove();
  });
});
