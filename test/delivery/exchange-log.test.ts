// The bounded SMTP dialog kept for `outpost queue why`: last 10 lines, 200 chars each, AUTH redacted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXCHANGE_LINE_CHARS, EXCHANGE_LINES, ExchangeLog } from '../../src/delivery/exchange-log.js';

test('keeps commands and replies in order, the last 10 lines only', () => {
  const log = new ExchangeLog();
  log.reply({ code: 220, status: undefined, lines: ['mx.example.net ESMTP'] }, 'greeting');
  log.command('EHLO relay.example.org', 'EHLO');
  log.reply({ code: 250, status: undefined, lines: ['mx.example.net', 'PIPELINING'] }, 'EHLO');
  for (let i = 0; i < 8; i++) log.command(`RCPT TO:<r${i}@example.net>`, 'RCPT');
  log.reply({ code: 451, status: '4.7.1', lines: ['Greylisted'] }, 'RCPT');
  const lines = log.lines();
  assert.equal(lines.length, EXCHANGE_LINES);
  assert.equal(lines[0], 'S: 250 mx.example.net PIPELINING');
  assert.equal(lines.at(-2), 'C: RCPT TO:<r7@example.net>');
  assert.equal(lines.at(-1), 'S: 451 4.7.1 Greylisted');
});

test('cuts long lines to 200 characters and strips control characters', () => {
  const log = new ExchangeLog();
  log.reply({ code: 554, status: '5.7.1', lines: [`x\u0007${'y'.repeat(500)}`] }, 'RCPT');
  const [line] = log.lines();
  assert.equal(line?.length, EXCHANGE_LINE_CHARS);
  assert.ok(line?.endsWith('...'));
  assert.doesNotMatch(line ?? '', /\u0007/);
});

test('redacts AUTH commands, continuations and challenges, keeping the mechanism and reply codes', () => {
  const log = new ExchangeLog();
  log.command('AUTH PLAIN AHVzZXIAc2VjcmV0', 'AUTH');
  log.reply({ code: 334, status: undefined, lines: ['VXNlcm5hbWU6'] }, 'AUTH');
  log.command('c2VjcmV0', 'AUTH');
  log.reply({ code: 535, status: '5.7.8', lines: ['bad credentials for user secret'] }, 'AUTH');
  assert.deepEqual(log.lines(), [
    'C: AUTH PLAIN [redacted]',
    'S: 334 [AUTH reply redacted]',
    'C: [AUTH data redacted]',
    'S: 535 5.7.8 [AUTH reply redacted]',
  ]);
  assert.doesNotMatch(log.lines().join('\n'), /AHVzZXIAc2VjcmV0|c2VjcmV0|secret/);
});
