// Table and fuzz tests for ESMTP parameter syntax and MAIL/RCPT parameter interpretation.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { interpretMailParams, interpretRcptParams, parseEsmtpParams } from '../../src/smtp/esmtp-params.js';
import type { EsmtpParam } from '../../src/smtp/esmtp-params.js';
import { mulberry32 } from '../helpers/seeded-random.js';

function params(text: string): EsmtpParam[] {
  const parsed = parseEsmtpParams(text);
  assert.ok(parsed !== undefined, `expected ${JSON.stringify(text)} to parse`);
  return parsed;
}

describe('parseEsmtpParams', () => {
  const valid: ReadonlyArray<readonly [string, readonly EsmtpParam[]]> = [
    ['', []],
    [' ', []],
    [' SIZE=100', [{ keyword: 'SIZE', value: '100' }]],
    [' size=100 body=8bitmime', [{ keyword: 'SIZE', value: '100' }, { keyword: 'BODY', value: '8bitmime' }]],
    [' SMTPUTF8', [{ keyword: 'SMTPUTF8', value: undefined }]],
    ['  SIZE=1   SMTPUTF8  ', [{ keyword: 'SIZE', value: '1' }, { keyword: 'SMTPUTF8', value: undefined }]],
    [' X-FOO-1=a<b>c', [{ keyword: 'X-FOO-1', value: 'a<b>c' }]],
    [' 9X=ü', [{ keyword: '9X', value: 'ü' }]],
    [' AUTH=<>', [{ keyword: 'AUTH', value: '<>' }]],
    [' AUTH=user+40example.org', [{ keyword: 'AUTH', value: 'user+40example.org' }]],
  ];
  for (const [text, expected] of valid) {
    it(`parses ${JSON.stringify(text)}`, () => assert.deepEqual(parseEsmtpParams(text), expected));
  }

  const invalid = [' -SIZE=1', ' SI_ZE=1', ' SIZE=', ' SIZE=a=b', ' =1', ' SIZE=\x01', ' SIZE=a\x7f', ' SIZE=\ufffd', ' SIZE=\u0085', ' SÍZE=1', ' SIZE=1\tBODY=7BIT'];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)} as a syntax error`, () => assert.equal(parseEsmtpParams(text), undefined));
  }
});

describe('interpretMailParams', () => {
  it('returns defaults for no parameters', () => {
    assert.deepEqual(interpretMailParams([]), { ok: true, sizeBytes: undefined, body: undefined, smtputf8: false, auth: undefined, requireTls: false });
  });

  it('reads SIZE, BODY, SMTPUTF8 and AUTH together', () => {
    assert.deepEqual(interpretMailParams(params('SIZE=12345 BODY=8bitMIME SMTPUTF8 AUTH=joe+2Bx@example.org')), {
      ok: true,
      sizeBytes: 12345,
      body: '8BITMIME',
      smtputf8: true,
      auth: 'joe+2Bx@example.org',
      requireTls: false,
    });
  });

  const cases: ReadonlyArray<readonly [string, unknown]> = [
    ['BODY=7bit', { ok: true, sizeBytes: undefined, body: '7BIT', smtputf8: false, auth: undefined, requireTls: false }],
    ['SIZE=0', { ok: true, sizeBytes: 0, body: undefined, smtputf8: false, auth: undefined, requireTls: false }],
    ['SIZE=99999999999999999999', { ok: true, sizeBytes: 1e20, body: undefined, smtputf8: false, auth: undefined, requireTls: false }],
    ['AUTH=<>', { ok: true, sizeBytes: undefined, body: undefined, smtputf8: false, auth: '<>', requireTls: false }],
    ['requiretls', { ok: true, sizeBytes: undefined, body: undefined, smtputf8: false, auth: undefined, requireTls: true }],
    ['REQUIRETLS=YES', { ok: false, error: 'bad-value', keyword: 'REQUIRETLS' }],
    ['REQUIRETLS RequireTLS', { ok: false, error: 'duplicate', keyword: 'REQUIRETLS' }],
    ['SIZE=999999999999999999999', { ok: false, error: 'bad-value', keyword: 'SIZE' }],
    ['SIZE=12k', { ok: false, error: 'bad-value', keyword: 'SIZE' }],
    ['SIZE=-1', { ok: false, error: 'bad-value', keyword: 'SIZE' }],
    ['SIZE', { ok: false, error: 'bad-value', keyword: 'SIZE' }],
    ['SIZE=１２', { ok: false, error: 'bad-value', keyword: 'SIZE' }],
    ['BODY=BINARYMIME', { ok: false, error: 'bad-value', keyword: 'BODY' }],
    ['BODY=8bitmıme', { ok: false, error: 'bad-value', keyword: 'BODY' }],
    ['BODY', { ok: false, error: 'bad-value', keyword: 'BODY' }],
    ['SMTPUTF8=yes', { ok: false, error: 'bad-value', keyword: 'SMTPUTF8' }],
    ['AUTH', { ok: false, error: 'bad-value', keyword: 'AUTH' }],
    ['AUTH=a+zz', { ok: false, error: 'bad-value', keyword: 'AUTH' }],
    ['AUTH=a+2b', { ok: false, error: 'bad-value', keyword: 'AUTH' }],
    ['AUTH=ü', { ok: false, error: 'bad-value', keyword: 'AUTH' }],
    ['RET=FULL', { ok: false, error: 'unknown-param', keyword: 'RET' }],
    ['x-custom', { ok: false, error: 'unknown-param', keyword: 'X-CUSTOM' }],
    ['SIZE=1 size=1', { ok: false, error: 'duplicate', keyword: 'SIZE' }],
    ['SMTPUTF8 SMTPUTF8', { ok: false, error: 'duplicate', keyword: 'SMTPUTF8' }],
    ['SIZE=1 SIZE=bad', { ok: false, error: 'duplicate', keyword: 'SIZE' }],
    ['BODY=bad SIZE=1 SIZE=1', { ok: false, error: 'bad-value', keyword: 'BODY' }],
  ];
  for (const [text, expected] of cases) {
    it(`interprets ${JSON.stringify(text)}`, () => assert.deepEqual(interpretMailParams(params(text)), expected));
  }
});

describe('interpretRcptParams', () => {
  it('accepts no parameters', () => assert.deepEqual(interpretRcptParams([]), { ok: true }));
  it('rejects NOTIFY as unknown (no DSN support yet)', () => {
    assert.deepEqual(interpretRcptParams(params('NOTIFY=NEVER ORCPT=rfc822;a@b')), { ok: false, error: 'unknown-param', keyword: 'NOTIFY' });
  });
});

describe('ESMTP parameter fuzzing', () => {
  it('never throws on random byte strings and keeps its invariants', () => {
    const nextUint32 = mulberry32(0x2545f491);
    const nextByte = (): number => nextUint32() & 0xff;
    const alphabet = Buffer.from(' =SIZEBODY7BIT8MIMEAUTH<>+2F-\x00\x7f\xc3\xbc\xff');
    for (let round = 0; round < 3000; round += 1) {
      const length = nextByte() % 40;
      const bytes = Buffer.alloc(length);
      for (let index = 0; index < length; index += 1) {
        const byte = nextByte();
        bytes[index] = byte < 200 ? (alphabet[byte % alphabet.length] ?? 0x20) : nextByte();
      }
      const text = bytes.toString('utf8');
      const parsed = parseEsmtpParams(text);
      if (parsed === undefined) continue;
      for (const param of parsed) {
        assert.match(param.keyword, /^[A-Z0-9][A-Z0-9-]*$/);
        assert.ok(param.value === undefined || (param.value !== '' && !/[\s=\ufffd]/.test(param.value)));
      }
      const result = interpretMailParams(parsed);
      if (result.ok && result.sizeBytes !== undefined) assert.ok(Number.isInteger(result.sizeBytes) && result.sizeBytes >= 0);
      interpretRcptParams(parsed);
    }
  });
});
