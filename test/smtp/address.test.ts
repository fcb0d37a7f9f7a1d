// Table and property tests for MAIL FROM / RCPT TO argument parsing (RFC 5321 §4.1.2, RFC 6531).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatPath, mailboxKey, parseMailFromArgument, parseRcptToArgument, relayDomain } from '../../src/smtp/address.js';
import type { Mailbox, PathError } from '../../src/smtp/address.js';
import { pick, seededRandom } from '../helpers/seeded-random.js';

interface ExpectedMailbox {
  readonly address: string;
  readonly localPart?: string;
  readonly domain?: string;
  readonly canonicalDomain?: string | undefined;
  readonly isAddressLiteral?: boolean;
  readonly isUtf8?: boolean;
}

function expectMailbox(actual: Mailbox, expected: ExpectedMailbox): void {
  assert.equal(actual.address, expected.address);
  if (expected.localPart !== undefined) assert.equal(actual.localPart, expected.localPart);
  if (expected.domain !== undefined) assert.equal(actual.domain, expected.domain);
  if ('canonicalDomain' in expected) assert.equal(actual.canonicalDomain, expected.canonicalDomain);
  assert.equal(actual.isAddressLiteral, expected.isAddressLiteral ?? false);
  assert.equal(actual.isUtf8, expected.isUtf8 ?? false);
  assert.equal(actual.address, `${actual.localPart}@${actual.domain}`);
}

describe('parseRcptToArgument: valid paths', () => {
  const cases: ReadonlyArray<readonly [string, ExpectedMailbox]> = [
    ['TO:<user@example.org>', { address: 'user@example.org', localPart: 'user', domain: 'example.org', canonicalDomain: 'example.org' }],
    ['to:<User@Example.COM>', { address: 'User@Example.COM', localPart: 'User', canonicalDomain: 'example.com' }],
    ['To: <a@b.example>', { address: 'a@b.example' }],
    ['TO:   <a@b.example>', { address: 'a@b.example' }],
    ['TO:<a.b.c@x-y.example>', { address: 'a.b.c@x-y.example' }],
    ["TO:<!#$%&'*+-/=?^_`{|}~@example.org>", { address: "!#$%&'*+-/=?^_`{|}~@example.org" }],
    ['TO:<user%x@example.org>', { address: 'user%x@example.org', localPart: 'user%x' }],
    ['TO:<host!user@example.org>', { address: 'host!user@example.org', localPart: 'host!user' }],
    ['TO:<"abc"@example.org>', { address: 'abc@example.org', localPart: 'abc' }],
    ['TO:<"a\\bc"@example.org>', { address: 'abc@example.org', localPart: 'abc' }],
    ['TO:<"john doe"@example.org>', { address: '"john doe"@example.org', localPart: '"john doe"' }],
    ['TO:<"a\\"b"@example.org>', { address: '"a\\"b"@example.org', localPart: '"a\\"b"' }],
    ['TO:<"a\\\\b"@example.org>', { address: '"a\\\\b"@example.org' }],
    ['TO:<"u@foreign.example"@example.org>', { address: '"u@foreign.example"@example.org', canonicalDomain: 'example.org' }],
    ['TO:<"a>b"@example.org>', { address: '"a>b"@example.org' }],
    ['TO:<"a..b"@example.org>', { address: '"a..b"@example.org' }],
    ['TO:<""@example.org>', { address: '""@example.org', localPart: '""' }],
    ['TO:<@relay.example,@r2.example:user@c.example> NOTIFY=NEVER', { address: 'user@c.example' }],
    ['TO:<@[192.0.2.9]:user@c.example>', { address: 'user@c.example' }],
    ['TO:<@[IPv6:2001:db8::1]:user@c.example>', { address: 'user@c.example' }],
    ['TO:<user@[192.0.2.1]>', { address: 'user@[192.0.2.1]', domain: '[192.0.2.1]', canonicalDomain: undefined, isAddressLiteral: true }],
    ['TO:<user@[IPv6:2001:db8::1]>', { address: 'user@[IPv6:2001:db8::1]', isAddressLiteral: true }],
    ['TO:<user@[ipv6:::ffff:192.0.2.1]>', { address: 'user@[ipv6:::ffff:192.0.2.1]', isAddressLiteral: true }],
    ['TO:<user@bücher.example>', { address: 'user@bücher.example', canonicalDomain: 'xn--bcher-kva.example', isUtf8: true }],
    ['TO:<user@BÜCHER.example>', { address: 'user@BÜCHER.example', canonicalDomain: 'xn--bcher-kva.example', isUtf8: true }],
    ['TO:<用户@例子.测试>', { address: '用户@例子.测试', canonicalDomain: 'xn--fsqu00a.xn--0zwm56d', isUtf8: true }],
    ['TO:<"jöhn doe"@example.org>', { address: '"jöhn doe"@example.org', isUtf8: true }],
    ['TO:<user@xn--bcher-kva.example>', { address: 'user@xn--bcher-kva.example', canonicalDomain: 'xn--bcher-kva.example' }],
    ['TO:<user@localhost>', { address: 'user@localhost' }],
    [`TO:<${'a'.repeat(64)}@example.org>`, { address: `${'a'.repeat(64)}@example.org` }],
  ];
  for (const [argument, expected] of cases) {
    it(`parses ${argument}`, () => {
      const result = parseRcptToArgument(argument);
      assert.ok(result.ok, JSON.stringify(result));
      expectMailbox(result.path, expected);
    });
  }

  it('accepts <Postmaster> without a domain, any case', () => {
    for (const argument of ['TO:<Postmaster>', 'TO:<postmaster>', 'TO:<POSTMASTER> X=1']) {
      const result = parseRcptToArgument(argument);
      assert.ok(result.ok);
      assert.deepEqual(result.path, { localPart: 'Postmaster', domain: '', canonicalDomain: undefined, isAddressLiteral: false, isUtf8: false, address: 'Postmaster' });
      assert.equal(formatPath(result.path), '<Postmaster>');
      assert.equal(relayDomain(result.path), null);
    }
  });

  it('returns the parameters after the path', () => {
    const result = parseRcptToArgument('TO:<a@b.example> NOTIFY=SUCCESS,FAILURE  ORCPT=rfc822;a@b.example');
    assert.ok(result.ok);
    assert.deepEqual(result.params, [
      { keyword: 'NOTIFY', value: 'SUCCESS,FAILURE' },
      { keyword: 'ORCPT', value: 'rfc822;a@b.example' },
    ]);
  });
});

describe('parse errors', () => {
  const cases: ReadonlyArray<readonly [string, PathError]> = [
    ['', 'syntax'],
    ['TO<a@b.example>', 'syntax'],
    ['TO :<a@b.example>', 'syntax'],
    [' TO:<a@b.example>', 'syntax'],
    ['FROM:<a@b.example>', 'syntax'],
    ['TO:a@b.example', 'syntax'],
    ['TO:<a@b.example', 'syntax'],
    ['TO:a@b.example>', 'syntax'],
    ['TO:<a@b.example>SIZE=1', 'syntax'],
    ['TO:<a@b.example> =1', 'syntax'],
    ['TO:<"a@b.example>', 'syntax'],
    ['TO:\t<a@b.example>', 'syntax'],
    ['TO:<>', 'address'],
    ['TO:<postmaster@>', 'address'],
    ['TO:<@a.example:Postmaster>', 'address'],
    ['TO:<a>', 'address'],
    ['TO:<@a.example>', 'address'],
    ['TO:<@a.example,b.example:u@c.example>', 'address'],
    ['TO:<@a_b:u@c.example>', 'address'],
    ['TO:<@:u@c.example>', 'address'],
    ['TO:<a@>', 'address'],
    ['TO:<@b.example>', 'address'],
    ['TO:<a@@b.example>', 'address'],
    ['TO:<a@b@c.example>', 'address'],
    ['TO:<.a@b.example>', 'address'],
    ['TO:<a.@b.example>', 'address'],
    ['TO:<a..b@b.example>', 'address'],
    ['TO:<a b@b.example>', 'address'],
    ['TO:<a(b)@b.example>', 'address'],
    ['TO:<a"b"@b.example>', 'address'],
    ['TO:<"a"b@b.example>', 'address'],
    ['TO:<"a\tb"@b.example>', 'address'],
    ['TO:<"a\\é"@b.example>', 'address'],
    ['TO:<a\x00@b.example>', 'address'],
    ['TO:<a\x7f@b.example>', 'address'],
    ['TO:<a\u0085@b.example>', 'address'],
    ['TO:<a\ufffd@b.example>', 'address'],
    ['TO:<a\ud800@b.example>', 'address'],
    ['TO:<a@b.example.>', 'address'],
    ['TO:<a@.b.example>', 'address'],
    ['TO:<a@b..example>', 'address'],
    ['TO:<a@-b.example>', 'address'],
    ['TO:<a@b-.example>', 'address'],
    ['TO:<a@b_c.example>', 'address'],
    ['TO:<a@b example>', 'address'],
    ['TO:<a@xn--zz.example>', 'address'],
    ['TO:<a@ｅxample.org>', 'address'],
    ['TO:<a@example。org>', 'address'],
    ['TO:<a@b\ufffd.example>', 'address'],
    ['TO:<a@[192.0.2.256]>', 'address'],
    ['TO:<a@[192.0.2.1>', 'address'],
    ['TO:<a@[2001:db8::1]>', 'address'],
    ['TO:<a@[IPv6:192.0.2.1]>', 'address'],
    ['TO:<a@[IPv6:fe80::1%eth0]>', 'address'],
    ['TO:<a@[x-tag:stuff]>', 'address'],
    [`TO:<${'a'.repeat(65)}@example.org>`, 'too-long'],
    [`TO:<${'ü'.repeat(33)}@example.org>`, 'too-long'],
    [`TO:<a@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(20)}>`, 'too-long'],
    [`TO:<${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.example>`, 'too-long'],
  ];
  for (const [argument, error] of cases) {
    it(`rejects ${JSON.stringify(argument).slice(0, 80)} as ${error}`, () => {
      const result = parseRcptToArgument(argument);
      assert.equal(result.ok, false, JSON.stringify(result));
      if (!result.ok) {
        assert.equal(result.error, error, result.detail);
        assert.ok(result.detail.length > 0);
      }
    });
  }
});

describe('parseMailFromArgument', () => {
  it('parses the null reverse-path with parameters', () => {
    const result = parseMailFromArgument('FROM:<> SIZE=100 BODY=8BITMIME');
    assert.ok(result.ok);
    assert.equal(result.path, null);
    assert.deepEqual(result.params, [
      { keyword: 'SIZE', value: '100' },
      { keyword: 'BODY', value: '8BITMIME' },
    ]);
    assert.equal(formatPath(result.path), '<>');
    assert.equal(relayDomain(result.path), null);
  });

  it('parses a sender with FROM in any case and a space after the colon', () => {
    const result = parseMailFromArgument('from: <a@B.example> SMTPUTF8');
    assert.ok(result.ok);
    assert.ok(result.path !== null);
    expectMailbox(result.path, { address: 'a@B.example', canonicalDomain: 'b.example' });
    assert.equal(formatPath(result.path), '<a@B.example>');
    assert.equal(relayDomain(result.path), 'b.example');
  });

  it('drops a source route from the reverse-path', () => {
    const result = parseMailFromArgument('FROM:<@a.example:u@c.example>');
    assert.ok(result.ok && result.path !== null);
    assert.equal(result.path.address, 'u@c.example');
  });

  it('rejects <Postmaster> without a domain as a sender', () => {
    const result = parseMailFromArgument('FROM:<Postmaster>');
    assert.deepEqual(result.ok ? 'ok' : result.error, 'address');
  });

  it('rejects TO: and a missing path', () => {
    for (const argument of ['TO:<a@b.example>', 'FROM:', 'FROM:<>SIZE=1', 'FROMAGE:<>']) {
      const result = parseMailFromArgument(argument);
      assert.deepEqual(result.ok ? 'ok' : result.error, 'syntax', argument);
    }
  });

  it('gives the literal as its relay domain', () => {
    const result = parseMailFromArgument('FROM:<a@[192.0.2.1]>');
    assert.ok(result.ok && result.path !== null);
    assert.equal(relayDomain(result.path), '[192.0.2.1]');
  });
});

describe('mailboxKey (repeated recipients)', () => {
  const key = (argument: string): string => {
    const result = parseRcptToArgument(argument);
    assert.ok(result.ok, argument);
    return mailboxKey(result.path);
  };
  const same: ReadonlyArray<readonly [string, string]> = [
    ['TO:<a@example.org>', 'TO:<a@EXAMPLE.ORG>'],
    ['TO:<a@example.org>', 'TO:<"a"@example.org>'],
    ['TO:<a@example.org>', 'TO:<@relay.example:a@example.org>'],
    ['TO:<a@bücher.example>', 'TO:<a@xn--bcher-kva.example>'],
    ['TO:<a@[IPv6:2001:db8::1]>', 'TO:<a@[ipv6:2001:DB8::1]>'],
  ];
  for (const [first, second] of same) {
    it(`gives ${first} and ${second} one key`, () => assert.equal(key(first), key(second)));
  }
  const different: ReadonlyArray<readonly [string, string]> = [
    ['TO:<a@example.org>', 'TO:<A@example.org>'],
    ['TO:<a@example.org>', 'TO:<a@example.net>'],
    ['TO:<a.b@example.org>', 'TO:<ab@example.org>'],
    ['TO:<a@[192.0.2.1]>', 'TO:<a@[192.0.2.2]>'],
  ];
  for (const [first, second] of different) {
    it(`gives ${first} and ${second} different keys`, () => assert.notEqual(key(first), key(second)));
  }
});

describe('address parsing properties', () => {
  it('never throws on random byte strings, and accepted paths re-parse to themselves', () => {
    const random = seededRandom(20260101);
    let acceptedCount = 0;
    const prefixes = ['FROM:', 'TO:', 'from: ', 'To:', 'TO :', ''];
    const localPieces = ['a', 'ü', '.', '"', '\\', ' ', '%', '!', '@', 'Postmaster', '"x y"', '中'];
    const domainPieces = ['x.example', 'bücher.example', '[192.0.2.1]', '[IPv6:::1]', '.', '-', '[', ']', ':', '@r.example:', ''];
    const mutations = ['<', '>', '@', '"', '\\', ',', ':', ' ', '\x00', '\x7f', 'SIZE=1', '='];
    for (let round = 0; round < 5000; round += 1) {
      const local = Array.from({ length: Math.floor(random() * 4) }, () => pick(random, localPieces)).join('');
      const route = random() < 0.2 ? '@r.example,@[192.0.2.2]:' : '';
      const tail = random() < 0.3 ? ' SIZE=10 BODY=8BITMIME' : '';
      let argument = `${pick(random, prefixes)}<${route}${local}@${pick(random, domainPieces)}>${tail}`;
      for (let mutation = Math.floor(random() * 3); mutation > 0; mutation -= 1) {
        const at = Math.floor(random() * (argument.length + 1));
        const insert = random() < 0.5 ? pick(random, mutations) : Buffer.from([Math.floor(random() * 256), Math.floor(random() * 256)]).toString('utf8');
        argument = argument.slice(0, at) + insert + argument.slice(at + (random() < 0.5 ? 1 : 0));
      }
      const mail = parseMailFromArgument(argument);
      const rcpt = parseRcptToArgument(argument);
      for (const result of [mail, rcpt]) {
        if (!result.ok) {
          assert.ok(['syntax', 'address', 'too-long'].includes(result.error));
          continue;
        }
        acceptedCount += 1;
        if (result.path === null) continue;
        const again = parseRcptToArgument(`TO:${formatPath(result.path)}`);
        assert.ok(again.ok, `${JSON.stringify(argument)} -> ${formatPath(result.path)}`);
        assert.deepEqual(again.path, result.path);
      }
    }
    assert.ok(acceptedCount > 50, `only ${acceptedCount} random arguments parsed; the generator is too weak`);
    for (let round = 0; round < 3000; round += 1) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)));
      for (const argument of [bytes.toString('utf8'), `FROM:<${bytes.toString('latin1')}>`, `TO:<${bytes.toString('utf8')}@x.example>`]) {
        assert.equal(typeof parseMailFromArgument(argument).ok, 'boolean');
        assert.equal(typeof parseRcptToArgument(argument).ok, 'boolean');
      }
    }
  });

  it('accepts random valid addresses and round-trips them through formatPath', () => {
    const random = seededRandom(7);
    const atext = "abcXYZ019!#$%&'*+-/=?^_`{|}~éü中";
    const qtext = ' !#$%&()*+,-./:;<=>?@[]^_`{|}~abcü';
    const domains = ['example.org', 'Mail.Example.COM', 'bücher.example', 'a-b.c-d.example', '[192.0.2.7]', '[IPv6:2001:db8::7]', 'x.y.z.example', '例子.测试'];
    const atom = (): string => Array.from({ length: 1 + Math.floor(random() * 6) }, () => pick(random, [...atext])).join('');
    for (let round = 0; round < 2000; round += 1) {
      const quoted = random() < 0.4;
      const wireLocal = quoted
        ? `"${Array.from({ length: Math.floor(random() * 10) }, () => (random() < 0.15 ? pick(random, ['\\"', '\\\\', '\\a']) : pick(random, [...qtext]))).join('')}"`
        : Array.from({ length: 1 + Math.floor(random() * 3) }, atom).join('.');
      const domain = pick(random, domains);
      const result = parseMailFromArgument(`FROM:<${wireLocal}@${domain}> SIZE=10`);
      assert.ok(result.ok && result.path !== null, `${wireLocal}@${domain}: ${JSON.stringify(result)}`);
      const mailbox = result.path;
      assert.equal(mailbox.domain, domain);
      assert.equal(mailbox.isAddressLiteral, domain.startsWith('['));
      if (!quoted) assert.equal(mailbox.localPart, wireLocal);
      const again = parseMailFromArgument(`FROM:${formatPath(mailbox)}`);
      assert.ok(again.ok);
      assert.deepEqual(again.path, mailbox);
    }
  });
});
