// SPF syntax: the macro examples of RFC 7208 §7.4, and a table of records that
// parse or are permerrors (§4.6.1 terms, §5 mechanisms, §6 modifiers, §7.1 domain-spec).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandMacroTokens, parseMacroString, trimExpandedDomain, type MacroValues } from '../../src/doctor/spf-macro.js';
import { isSpfRecord, parseSpfRecord } from '../../src/doctor/spf-record.js';

function values(ipText: string, ipVersionLabel: string): MacroValues {
  return {
    sender: 'strong-bad@email.example.com',
    localPart: 'strong-bad',
    senderDomain: 'email.example.com',
    domain: 'email.example.com',
    ipText,
    ipVersionLabel,
    helo: 'mx.example.org',
    validatedName: async () => 'mx.example.org',
  };
}

const IPV4 = values('192.0.2.3', 'in-addr');
const IPV6 = values('2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1', 'ip6');

async function expand(text: string, with_: MacroValues = IPV4): Promise<string> {
  const parsed = parseMacroString(text, 'domain-spec');
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
  return expandMacroTokens(parsed.tokens, with_);
}

describe('SPF macros (RFC 7208 §7.4 examples)', () => {
  const examples: [string, string][] = [
    ['%{s}', 'strong-bad@email.example.com'],
    ['%{o}', 'email.example.com'],
    ['%{d}', 'email.example.com'],
    ['%{d4}', 'email.example.com'],
    ['%{d3}', 'email.example.com'],
    ['%{d2}', 'example.com'],
    ['%{d1}', 'com'],
    ['%{dr}', 'com.example.email'],
    ['%{d2r}', 'example.email'],
    ['%{l}', 'strong-bad'],
    ['%{l-}', 'strong.bad'],
    ['%{lr}', 'strong-bad'],
    ['%{lr-}', 'bad.strong'],
    ['%{l1r-}', 'strong'],
    ['%{ir}.%{v}._spf.%{d2}', '3.2.0.192.in-addr._spf.example.com'],
    ['%{lr-}.lp._spf.%{d2}', 'bad.strong.lp._spf.example.com'],
    ['%{lr-}.lp.%{ir}.%{v}._spf.%{d2}', 'bad.strong.lp.3.2.0.192.in-addr._spf.example.com'],
    ['%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}', '3.2.0.192.in-addr.strong.lp._spf.example.com'],
    ['%{d2}.trusted-domains.example.net', 'example.com.trusted-domains.example.net'],
    ['%{p}.%{h}', 'mx.example.org.mx.example.org'],
    ['%%%_%-', '% %20'],
  ];
  for (const [macro, expected] of examples) {
    it(`expands ${macro} to ${expected}`, async () => assert.equal(await expand(macro), expected));
  }

  it('expands %{i} of an IPv6 address as dotted nibbles', async () => {
    assert.equal(await expand('%{ir}.%{v}._spf.%{d2}', IPV6), '1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com');
  });

  it('URL-escapes the value of an uppercase macro letter', async () => {
    assert.equal(await expand('%{S}'), 'strong-bad%40email.example.com');
  });

  it('drops left labels of an expansion longer than 253 characters, and the trailing dot', () => {
    const long = `${'a'.repeat(60)}.`.repeat(5) + 'example.com.';
    const trimmed = trimExpandedDomain(long);
    assert.ok(trimmed.length <= 253);
    assert.ok(trimmed.endsWith('.example.com'));
    assert.equal(trimExpandedDomain('example.com.'), 'example.com');
  });

  const invalid = ['%{x}', '%{d0}', '%{c}', '%(d)', '%', '%{d', 'a b'];
  for (const text of invalid) {
    it(`rejects the domain-spec macro-string ${JSON.stringify(text)}`, () => assert.equal(parseMacroString(text, 'domain-spec').ok, false));
  }

  it('allows %{c} %{r} %{t} only in explanations', () => {
    assert.equal(parseMacroString('%{c} %{r} %{t}', 'explanation').ok, true);
  });
});

describe('SPF record syntax', () => {
  it('selects records by "v=spf1" followed by a space or the end', () => {
    assert.equal(isSpfRecord('v=spf1 -all'), true);
    assert.equal(isSpfRecord('V=SPF1'), true);
    assert.equal(isSpfRecord('v=spf10 -all'), false);
    assert.equal(isSpfRecord('spf2.0/pra -all'), false);
  });

  const good: [string, string][] = [
    ['v=spf1', 'no terms'],
    ['v=spf1 +all', 'qualified all'],
    ['v=spf1  a  mx  -all ', 'extra spaces'],
    ['v=spf1 a/24//64 mx:example.org/30 ~all', 'dual CIDR lengths'],
    ['v=spf1 a//64 ?all', 'IPv6 length only'],
    ['v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all', 'networks'],
    ['v=spf1 include:_spf.example.com exists:%{i}._spf.%{d} ptr ptr:example.org -all', 'include, exists, ptr'],
    ['v=spf1 redirect=_spf.example.com', 'redirect'],
    ['v=spf1 -all exp=explain._spf.%{d} unknown-mod=%{i}', 'exp and an unknown modifier'],
    ['v=spf1 A:Example.ORG. MX -ALL', 'case-insensitive names, trailing dot'],
  ];
  for (const [record, why] of good) {
    it(`parses ${JSON.stringify(record)} (${why})`, () => {
      const parsed = parseSpfRecord(record);
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
    });
  }

  it('keeps qualifiers, CIDR lengths and modifiers', () => {
    const parsed = parseSpfRecord('v=spf1 ~a:example.org/24//64 -ip4:192.0.2.1 redirect=other.example');
    assert.ok(parsed.ok);
    const [a, ip4] = parsed.record.directives;
    assert.equal(a?.qualifier, '~');
    assert.deepEqual(a?.mechanism.kind === 'a' && [a.mechanism.target?.text, a.mechanism.ip4Prefix, a.mechanism.ip6Prefix], ['example.org', 24, 64]);
    assert.equal(ip4?.qualifier, '-');
    assert.deepEqual(ip4?.mechanism.kind === 'ip4' && [...ip4.mechanism.network, ip4.mechanism.prefix], [192, 0, 2, 1, 32]);
    assert.equal(parsed.record.redirect?.text, 'other.example');
  });

  const bad: [string, RegExp][] = [
    ['v=spf1 foo', /unknown mechanism 'foo'/],
    ['v=spf1 a:', /empty domain-spec/],
    ['v=spf1 a/33', /over 32/],
    ['v=spf1 a//129', /over 128/],
    ['v=spf1 a/024', /unexpected/],
    ['v=spf1 ip4:192.0.2.300', /IPv4 network/],
    ['v=spf1 ip4:2001:db8::1', /IPv4 network/],
    ['v=spf1 ip6:192.0.2.1', /IPv6 network/],
    ['v=spf1 ip4:192.0.2.0/', /IPv4 network/],
    ['v=spf1 include', /needs ":domain"/],
    ['v=spf1 all:example.org', /after all/],
    ['v=spf1 redirect=a.example redirect=b.example', /more than one redirect/],
    ['v=spf1 exp=a.example exp=b.example', /more than one exp/],
    ['v=spf1 a:foo', /top label/],
    ['v=spf1 a:example.123', /top label/],
    ['v=spf1 exists:%{x}.example.org', /macro letter/],
    ['v=spf1 include:%{d0}.example.org', /zero parts/],
    ['v=spf1 unknown=%', /invalid macro/],
    ['v=spf1 -', /cannot parse/],
  ];
  for (const [record, problem] of bad) {
    it(`rejects ${JSON.stringify(record)} as a permerror`, () => {
      const parsed = parseSpfRecord(record);
      assert.equal(parsed.ok, false);
      assert.match(parsed.ok ? '' : parsed.problem, problem);
    });
  }
});
