import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadDomainsFile, parseDomainsText } from '../../src/config/domains-file.js';
import { ConfigErrors } from '../../src/core/errors.js';
import { TempConfigs } from './temp-config.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

const FILE = '/etc/outpost/domains';

const VALID: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ['one domain', 'example.org\n', ['example.org']],
  ['mixed case, trailing dot and duplicates', 'Example.ORG\nexample.org.\nEXAMPLE.org\n', ['example.org']],
  ['whole-line and trailing comments, blank lines, CRLF', '# ours\r\n\r\n  example.org   # primary\r\nexample.net#no space\r\n', ['example.org', 'example.net']],
  ['an internationalized domain as A-label', 'bücher.example\n', ['xn--bcher-kva.example']],
  ['no final newline', 'a.example\nb.example', ['a.example', 'b.example']],
];

for (const [name, text, expected] of VALID) {
  test(`domains file: reads ${name}`, () => {
    const parsed = parseDomainsText(text, FILE);
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual([...parsed.domains], expected);
  });
}

const INVALID: ReadonlyArray<readonly [string, string, ReadonlyArray<readonly [number | undefined, RegExp]>]> = [
  ['two domains on one line', 'example.org\n\na.example b.example\n', [[3, /has more than one word/]]],
  ['a label starting with a hyphen', '# x\n-a.example\n', [[2, /"-a\.example" is not a valid domain/]]],
  ['an address instead of a domain', 'user@example.org\n', [[1, /not a valid domain/]]],
  ['a wildcard', '*.example.org\n', [[1, /not a valid domain/]]],
  ['several bad lines', 'ok.example\nbad_one\nfine.example\nbad..two\n', [[2, /"bad_one"/], [4, /"bad\.\.two"/]]],
  ['only comments', '# nothing\n\n   # still nothing\n', [[undefined, /lists no local domains \(every recipient would be rejected\)/]]],
  ['an empty file', '', [[undefined, /lists no local domains/]]],
];

for (const [name, text, expected] of INVALID) {
  test(`domains file: rejects ${name}, naming the file and line`, () => {
    const { problems } = parseDomainsText(text, FILE);
    assert.deepEqual(
      problems.map((problem) => [problem.file, problem.line]),
      expected.map(([line]) => [FILE, line]),
    );
    problems.forEach((problem, index) => assert.match(problem.message, expected[index]?.[1] ?? /never/));
    const first = problems[0];
    if (first?.line !== undefined) assert.ok(first.message.startsWith(`${FILE}:${first.line}: `));
    else assert.equal(first?.message, `${FILE}: domains: ${first?.problem ?? ''}`);
  });
}

test('loadDomainsFile returns a read-only set for reloads', async () => {
  const folder = await temp.write({ domains: 'Example.org\n' });
  const domains = await loadDomainsFile(join(folder, 'domains'));
  assert.deepEqual([...domains], ['example.org']);
  assert.throws(() => (domains as Set<string>).add('x.example'), TypeError);
});

test('loadDomainsFile throws ConfigErrors naming a missing file and the domains key', async () => {
  const folder = await temp.write({});
  const path = join(folder, 'domains');
  await assert.rejects(loadDomainsFile(path), (error: unknown) => {
    assert.ok(error instanceof ConfigErrors);
    assert.equal(error.message, `${path}: domains: cannot read the domains file: no such file`);
    return true;
  });
});

test('loadDomainsFile throws ConfigErrors listing every bad line', async () => {
  const folder = await temp.write({ domains: 'a b\nok.example\n-x\n' });
  const path = join(folder, 'domains');
  await assert.rejects(loadDomainsFile(path), (error: unknown) => {
    assert.ok(error instanceof ConfigErrors);
    assert.deepEqual(error.problems.map((problem) => problem.line), [1, 3]);
    return true;
  });
});
