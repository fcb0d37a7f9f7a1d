// The relay rule, exhaustively: mode × trusted × authenticated × sender × recipient against an
// independently written expectation table, plus routing tricks reaching the policy through the parser.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { judgeRecipient, judgeSender } from '../../src/policy/relay.js';
import type { RelayClient } from '../../src/policy/relay.js';
import type { ListenerMode } from '../../src/config/types.js';
import { parseMailFromArgument, parseRcptToArgument, relayDomain } from '../../src/smtp/address.js';

const LOCAL_DOMAINS = new Set(['local.example', 'xn--bcher-kva.example']);
const isLocalDomain = (domain: string): boolean => LOCAL_DOMAINS.has(domain);

type SenderKind = 'local' | 'foreign' | 'null';
type RecipientKind = 'local' | 'foreign' | 'literal';
/** ok, or the reason of the first refusal in the transaction (MAIL, then RCPT). */
type Outcome = 'ok' | 'auth-required' | 'sender-not-owned' | 'spoofed-local-sender' | 'relay-denied';

const SENDER_DOMAIN: Record<SenderKind, string | null> = { local: 'local.example', foreign: 'foreign.example', null: null };
const RECIPIENT_DOMAIN: Record<RecipientKind, string> = { local: 'local.example', foreign: 'foreign.example', literal: '[192.0.2.1]' };

const A = 'auth-required';
const N = 'sender-not-owned';
const S = 'spoofed-local-sender';
const R = 'relay-denied';

/** mode, trusted, authenticated, sender -> outcome for recipient [local, foreign, literal]. */
const EXPECTED: ReadonlyArray<readonly [ListenerMode, boolean, boolean, SenderKind, readonly [Outcome, Outcome, Outcome]]> = [
  ['mta', false, false, 'local', [S, S, S]],
  ['mta', false, false, 'foreign', ['ok', R, R]],
  ['mta', false, false, 'null', ['ok', R, R]],
  ['mta', false, true, 'local', ['ok', 'ok', 'ok']],
  ['mta', false, true, 'foreign', [N, N, N]],
  ['mta', false, true, 'null', [N, N, N]],
  ['mta', true, false, 'local', ['ok', 'ok', 'ok']],
  ['mta', true, false, 'foreign', ['ok', R, R]],
  ['mta', true, false, 'null', ['ok', 'ok', 'ok']],
  ['mta', true, true, 'local', ['ok', 'ok', 'ok']],
  ['mta', true, true, 'foreign', [N, N, N]],
  ['mta', true, true, 'null', [N, N, N]],
  ['submission', false, false, 'local', [A, A, A]],
  ['submission', false, false, 'foreign', [A, A, A]],
  ['submission', false, false, 'null', [A, A, A]],
  ['submission', false, true, 'local', ['ok', 'ok', 'ok']],
  ['submission', false, true, 'foreign', [N, N, N]],
  ['submission', false, true, 'null', [N, N, N]],
  ['submission', true, false, 'local', [A, A, A]],
  ['submission', true, false, 'foreign', [A, A, A]],
  ['submission', true, false, 'null', [A, A, A]],
  ['submission', true, true, 'local', ['ok', 'ok', 'ok']],
  ['submission', true, true, 'foreign', [N, N, N]],
  ['submission', true, true, 'null', [N, N, N]],
  ['smtps', false, false, 'local', [A, A, A]],
  ['smtps', false, false, 'foreign', [A, A, A]],
  ['smtps', false, false, 'null', [A, A, A]],
  ['smtps', false, true, 'local', ['ok', 'ok', 'ok']],
  ['smtps', false, true, 'foreign', [N, N, N]],
  ['smtps', false, true, 'null', [N, N, N]],
  ['smtps', true, false, 'local', [A, A, A]],
  ['smtps', true, false, 'foreign', [A, A, A]],
  ['smtps', true, false, 'null', [A, A, A]],
  ['smtps', true, true, 'local', ['ok', 'ok', 'ok']],
  ['smtps', true, true, 'foreign', [N, N, N]],
  ['smtps', true, true, 'null', [N, N, N]],
];

const RECIPIENT_KINDS: readonly RecipientKind[] = ['local', 'foreign', 'literal'];

function client(mode: ListenerMode, trusted: boolean, authenticated: boolean): RelayClient {
  return { mode, trusted, authenticatedUser: authenticated ? 'joe@local.example' : null };
}

function transaction(relayClient: RelayClient, senderDomain: string | null, recipientDomain: string | null): Outcome {
  const sender = judgeSender(relayClient, senderDomain, isLocalDomain);
  if (!sender.accept) return sender.reason;
  const recipient = judgeRecipient(relayClient, senderDomain, recipientDomain, isLocalDomain);
  return recipient.accept ? 'ok' : recipient.reason;
}

describe('relay rule: every mode × trust × auth × sender × recipient', () => {
  it('covers the whole cross product exactly once', () => {
    const keys = new Set(EXPECTED.map(([mode, trusted, authenticated, sender]) => `${mode}/${trusted}/${authenticated}/${sender}`));
    assert.equal(keys.size, 3 * 2 * 2 * 3);
    assert.equal(EXPECTED.length * RECIPIENT_KINDS.length, 108);
  });

  for (const [mode, trusted, authenticated, senderKind, outcomes] of EXPECTED) {
    RECIPIENT_KINDS.forEach((recipientKind, index) => {
      const expected = outcomes[index];
      const name = `${mode} ${trusted ? 'trusted' : 'untrusted'} ${authenticated ? 'authenticated' : 'anonymous'} sender=${senderKind} recipient=${recipientKind} -> ${expected}`;
      it(name, () => {
        const relayClient = client(mode, trusted, authenticated);
        assert.equal(transaction(relayClient, SENDER_DOMAIN[senderKind], RECIPIENT_DOMAIN[recipientKind]), expected);
      });
    });
  }

  it('never accepts a recipient for a sender that judgeSender refuses', () => {
    for (const [mode, trusted, authenticated, senderKind] of EXPECTED) {
      const relayClient = client(mode, trusted, authenticated);
      const sender = judgeSender(relayClient, SENDER_DOMAIN[senderKind], isLocalDomain);
      if (sender.accept) continue;
      for (const recipientKind of RECIPIENT_KINDS) {
        const recipient = judgeRecipient(relayClient, SENDER_DOMAIN[senderKind], RECIPIENT_DOMAIN[recipientKind], isLocalDomain);
        assert.deepEqual(recipient, { accept: false, reason: sender.reason === 'auth-required' ? 'auth-required' : 'relay-denied' });
      }
    }
  });
});

describe('relay rule: special domains', () => {
  it('accepts <Postmaster> (null recipient domain) from an anonymous client on mta', () => {
    assert.deepEqual(judgeRecipient(client('mta', false, false), 'foreign.example', null, isLocalDomain), { accept: true });
  });

  it('never treats an address literal as local, whatever isLocalDomain says', () => {
    const everythingLocal = (): boolean => true;
    const anonymous = client('mta', false, false);
    assert.deepEqual(judgeSender(anonymous, '[192.0.2.1]', everythingLocal), { accept: true });
    assert.deepEqual(judgeRecipient(anonymous, null, '[192.0.2.1]', everythingLocal), { accept: false, reason: 'relay-denied' });
    assert.deepEqual(judgeSender(client('submission', false, true), '[192.0.2.1]', everythingLocal), { accept: false, reason: 'sender-not-owned' });
  });
});

describe('relay rule: routing tricks reach the policy as the final address', () => {
  const anonymous = client('mta', false, false);
  const rcptCases: ReadonlyArray<readonly [string, 'ok' | 'relay-denied']> = [
    ['TO:<@local.example:u@foreign.example>', 'relay-denied'],
    ['TO:<@local.example,@local.example:u@foreign.example>', 'relay-denied'],
    ['TO:<@foreign.example:u@local.example>', 'ok'],
    ['TO:<u%foreign.example@local.example>', 'ok'],
    ['TO:<"u@foreign.example"@local.example>', 'ok'],
    ['TO:<foreign.example!u@local.example>', 'ok'],
    ['TO:<u@LOCAL.Example>', 'ok'],
    ['TO:<u@BÜCHER.example>', 'ok'],
    ['TO:<u@[127.0.0.1]>', 'relay-denied'],
    ['TO:<Postmaster>', 'ok'],
  ];
  for (const [argument, expected] of rcptCases) {
    it(`judges ${argument} from an anonymous foreign sender as ${expected}`, () => {
      const parsed = parseRcptToArgument(argument);
      assert.ok(parsed.ok, JSON.stringify(parsed));
      assert.equal(transaction(anonymous, 'foreign.example', relayDomain(parsed.path)), expected);
    });
  }

  const mailCases: ReadonlyArray<readonly [string, 'ok' | 'spoofed-local-sender']> = [
    ['FROM:<@foreign.example:u@local.example>', 'spoofed-local-sender'],
    ['FROM:<@local.example:u@foreign.example>', 'ok'],
    ['FROM:<u%local.example@foreign.example>', 'ok'],
    ['FROM:<"u@local.example"@foreign.example>', 'ok'],
    ['FROM:<U@Local.EXAMPLE>', 'spoofed-local-sender'],
  ];
  for (const [argument, expected] of mailCases) {
    it(`judges sender ${argument} from an anonymous mta client as ${expected}`, () => {
      const parsed = parseMailFromArgument(argument);
      assert.ok(parsed.ok && parsed.path !== null, JSON.stringify(parsed));
      const verdict = judgeSender(anonymous, relayDomain(parsed.path), isLocalDomain);
      assert.equal(verdict.accept ? 'ok' : verdict.reason, expected);
    });
  }
});
