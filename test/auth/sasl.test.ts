import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  continueSasl,
  LOGIN_PASSWORD_CHALLENGE,
  LOGIN_USERNAME_CHALLENGE,
  MAX_SASL_LINE_OCTETS,
  startSasl,
  type SaslStep,
} from '../../src/auth/sasl.js';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Runs AUTH `argument` then each client line; returns every challenge sent and the final step. */
function exchange(argument: string, ...lines: string[]): { challenges: string[]; result: SaslStep } {
  const challenges: string[] = [];
  let step = startSasl(argument);
  for (const line of lines) {
    assert.equal(step.kind, 'challenge', `expected a challenge before ${JSON.stringify(line)}`);
    if (step.kind !== 'challenge') break;
    challenges.push(step.challenge);
    step = continueSasl(step.state, line);
  }
  return { challenges, result: step };
}

const credentials = (mechanism: 'PLAIN' | 'LOGIN', authzid: string, authcid: string, password: string): SaslStep => ({
  kind: 'credentials',
  mechanism,
  authzid,
  authcid,
  password,
});

interface Case {
  readonly name: string;
  readonly argument: string;
  readonly lines?: readonly string[];
  readonly challenges?: readonly string[];
  readonly result: SaslStep | SaslStep['kind'];
}

const CASES: readonly Case[] = [
  { name: 'PLAIN with an initial response', argument: `PLAIN ${b64('\0app@example.org\0s3cret')}`, result: credentials('PLAIN', '', 'app@example.org', 's3cret') },
  { name: 'PLAIN without an initial response: empty 334, then the response', argument: 'PLAIN', lines: [b64('\0app@example.org\0s3cret')], challenges: [''], result: credentials('PLAIN', '', 'app@example.org', 's3cret') },
  { name: 'PLAIN mechanism name in lower case', argument: `plain ${b64('\0u@example.org\0pw')}`, result: credentials('PLAIN', '', 'u@example.org', 'pw') },
  { name: 'PLAIN with authzid equal to authcid', argument: `PLAIN ${b64('u@example.org\0u@example.org\0pw')}`, result: credentials('PLAIN', 'u@example.org', 'u@example.org', 'pw') },
  { name: 'PLAIN with authzid differing only in domain case', argument: `PLAIN ${b64('u@EXAMPLE.org\0u@example.org\0pw')}`, result: credentials('PLAIN', 'u@EXAMPLE.org', 'u@example.org', 'pw') },
  { name: 'PLAIN with a UTF-8 password and unpadded base64', argument: `PLAIN ${b64('\0u@example.org\0pässwörd').replace(/=+$/, '')}`, result: credentials('PLAIN', '', 'u@example.org', 'pässwörd') },
  { name: 'PLAIN password may contain spaces and colons', argument: `PLAIN ${b64('\0u@example.org\0a b:c')}`, result: credentials('PLAIN', '', 'u@example.org', 'a b:c') },
  { name: 'PLAIN authzid other than authcid', argument: `PLAIN ${b64('admin@example.org\0u@example.org\0pw')}`, result: { kind: 'authzid-mismatch', authzid: 'admin@example.org', authcid: 'u@example.org' } },
  { name: 'PLAIN "=" (empty initial response)', argument: 'PLAIN =', result: 'malformed' },
  { name: 'PLAIN missing NULs', argument: `PLAIN ${b64('u@example.org pw')}`, result: 'malformed' },
  { name: 'PLAIN one NUL only', argument: `PLAIN ${b64('u@example.org\0pw')}`, result: 'malformed' },
  { name: 'PLAIN three NULs', argument: `PLAIN ${b64('\0u@example.org\0pw\0')}`, result: 'malformed' },
  { name: 'PLAIN empty authcid', argument: `PLAIN ${b64('\0\0pw')}`, result: 'malformed' },
  { name: 'PLAIN empty password', argument: `PLAIN ${b64('\0u@example.org\0')}`, result: 'malformed' },
  { name: 'PLAIN malformed base64', argument: 'PLAIN AGFw!cA==', result: 'malformed' },
  { name: 'PLAIN base64 with stray bits', argument: 'PLAIN AGFwcB==', result: 'malformed' },
  { name: 'PLAIN base64 of invalid UTF-8', argument: `PLAIN ${Buffer.from([0, 0x75, 0, 0xff]).toString('base64')}`, result: 'malformed' },
  { name: 'PLAIN malformed base64 after the challenge', argument: 'PLAIN', lines: ['%%%'], challenges: [''], result: 'malformed' },
  { name: 'PLAIN cancelled with *', argument: 'PLAIN', lines: ['*'], challenges: [''], result: { kind: 'cancelled' } },
  { name: 'PLAIN empty line after the challenge', argument: 'PLAIN', lines: [''], challenges: [''], result: 'malformed' },
  { name: 'LOGIN: Username: then Password:', argument: 'LOGIN', lines: [b64('app@example.org'), b64('s3cret')], challenges: [LOGIN_USERNAME_CHALLENGE, LOGIN_PASSWORD_CHALLENGE], result: credentials('LOGIN', '', 'app@example.org', 's3cret') },
  { name: 'LOGIN with the user name as initial response', argument: `LOGIN ${b64('app@example.org')}`, lines: [b64('s3cret')], challenges: [LOGIN_PASSWORD_CHALLENGE], result: credentials('LOGIN', '', 'app@example.org', 's3cret') },
  { name: 'LOGIN cancelled at the user name', argument: 'LOGIN', lines: ['*'], challenges: [LOGIN_USERNAME_CHALLENGE], result: { kind: 'cancelled' } },
  { name: 'LOGIN cancelled at the password', argument: 'LOGIN', lines: [b64('app@example.org'), '*'], challenges: [LOGIN_USERNAME_CHALLENGE, LOGIN_PASSWORD_CHALLENGE], result: { kind: 'cancelled' } },
  { name: 'LOGIN malformed base64 password', argument: 'LOGIN', lines: [b64('app@example.org'), 'not base64!'], result: 'malformed' },
  { name: 'LOGIN empty user name', argument: 'LOGIN', lines: [''], result: 'malformed' },
  { name: 'LOGIN "=" initial response (empty user name)', argument: 'LOGIN =', result: 'malformed' },
  { name: 'LOGIN empty password', argument: 'LOGIN', lines: [b64('app@example.org'), ''], result: 'malformed' },
  { name: 'unsupported mechanism', argument: 'CRAM-MD5', result: { kind: 'unsupported-mechanism', mechanism: 'CRAM-MD5' } },
  { name: 'unsupported mechanism with initial response', argument: 'XOAUTH2 dGVzdA==', result: { kind: 'unsupported-mechanism', mechanism: 'XOAUTH2' } },
  { name: 'no mechanism', argument: '', result: 'malformed' },
  { name: 'mechanism name with bad characters', argument: 'PL@IN', result: 'malformed' },
  { name: 'too many arguments', argument: `PLAIN ${b64('\0u@example.org\0pw')} extra`, result: 'malformed' },
  { name: 'double space', argument: `PLAIN  ${b64('\0u@example.org\0pw')}`, result: 'malformed' },
];

for (const { name, argument, lines = [], challenges, result } of CASES) {
  test(`SASL: ${name}`, () => {
    const outcome = exchange(argument, ...lines);
    if (challenges !== undefined) assert.deepEqual(outcome.challenges, challenges);
    if (typeof result === 'string') assert.equal(outcome.result.kind, result, JSON.stringify(outcome.result));
    else assert.deepEqual(outcome.result, result);
  });
}

test('SASL: lines longer than 12288 octets are refused; a line of exactly 12288 is read', () => {
  const atLimit = 'A'.repeat(MAX_SASL_LINE_OCTETS);
  assert.equal(continueSasl({ mechanism: 'PLAIN' }, atLimit).kind, 'malformed');
  assert.deepEqual(continueSasl({ mechanism: 'PLAIN' }, `${atLimit}AAAA`), { kind: 'line-too-long' });
  assert.deepEqual(startSasl(`PLAIN ${atLimit}`), { kind: 'line-too-long' });
  const longPassword = 'p'.repeat(9000);
  assert.deepEqual(startSasl(`PLAIN ${b64(`\0u@example.org\0${longPassword}`)}`), credentials('PLAIN', '', 'u@example.org', longPassword));
});

test('SASL: malformed results carry a detail for the log, never the secret', () => {
  const step = startSasl(`PLAIN ${b64('u@example.org\0hunter2')}`);
  assert.equal(step.kind, 'malformed');
  assert.doesNotMatch(JSON.stringify(step), /hunter2/);
});
