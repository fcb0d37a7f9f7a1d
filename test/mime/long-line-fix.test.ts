// The long-line fix over whole messages (plan, then rewrite): multipart and
// nested structures, non-MIME messages, header folding, 8-bit and UTF-8 text,
// parts already quoted-printable or base64, message/rfc822, delimiters right
// after a long line, any chunking; Python's email package decodes every part
// of the result to the original content.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LongLinePlanner, type RewriteProblem } from '../../src/mime/long-line-plan.js';
import { LongLineRewriter, type RewriteSummary } from '../../src/mime/long-line-rewriter.js';
import { pythonLeaves, type PythonLeaf } from '../helpers/python-mime.js';
import { seededRandom } from '../helpers/seeded-random.js';

type Fixed = { ok: true; output: Buffer; summary: RewriteSummary; maxHeldBytes: number } | { ok: false; problem: RewriteProblem };

/** Both passes over `message`, fed in chunks of `chunkBytes` (or at the given cuts). */
function fix(message: Buffer, chunkBytes = 65_536): Fixed {
  const chunks: Buffer[] = [];
  for (let at = 0; at < message.length; at += chunkBytes) chunks.push(message.subarray(at, at + chunkBytes));
  const planner = new LongLinePlanner();
  for (const chunk of chunks) planner.push(chunk);
  const planned = planner.finish();
  if (!planned.ok) return planned;
  const rewriter = new LongLineRewriter(planned.plan);
  const out: Buffer[] = [];
  for (const chunk of chunks) out.push(...rewriter.push(chunk));
  out.push(...rewriter.end());
  if (rewriter.problem !== undefined) return { ok: false, problem: rewriter.problem };
  return { ok: true, output: Buffer.concat(out), summary: rewriter.summary, maxHeldBytes: rewriter.maxHeldBytes };
}

function fixed(message: Buffer, chunkBytes?: number): { output: Buffer; summary: RewriteSummary } {
  const result = fix(message, chunkBytes);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problem));
  return result;
}

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');

/** Every line ends with CRLF, no bare CR or LF, and none is longer than `max` octets (CRLF excluded). */
function assertLines(message: Buffer, max = 998): void {
  const text = message.toString('latin1');
  assert.ok(text.endsWith('\r\n'), 'ends with CRLF');
  assert.doesNotMatch(text, /\r(?!\n)|(?<!\r)\n/, 'only CRLF line ends');
  const longest = Math.max(...text.split('\r\n').map((line) => line.length));
  assert.ok(longest <= max, `a line of ${longest} octets`);
}

/** The lines of a quoted-printable or base64 body region are at most 76 characters. */
function assertEncodedLines(body: string): void {
  for (const line of body.split('\r\n')) assert.ok(line.length <= 76, `encoded line of ${line.length}: ${line.slice(0, 40)}…`);
}

/** Same leaves, each decoding to exactly the same octets, without defects. */
function assertSameContent(original: readonly PythonLeaf[], after: readonly PythonLeaf[]): void {
  assert.equal(after.length, original.length, 'number of parts');
  original.forEach((leaf, index) => {
    const now = after[index] as PythonLeaf;
    assert.equal(now.type, leaf.type, `part ${index} type`);
    assert.ok(now.payload.equals(leaf.payload), `part ${index} content (${leaf.type}, ${leaf.cte || '-'} -> ${now.cte})`);
    assert.deepEqual(now.defects, [], `part ${index} defects`);
  });
}

async function assertDecodesAsOriginal(message: Buffer, output: Buffer): Promise<PythonLeaf[]> {
  const [before, after] = await pythonLeaves([message, output]);
  assert.ok(before !== undefined && after !== undefined);
  assertSameContent(before, after);
  return after;
}

function headerOf(message: Buffer): string {
  const text = message.toString('utf8');
  return text.slice(0, text.indexOf('\r\n\r\n') + 2);
}

const html = (octets: number): string => {
  let line = '<html><body>';
  for (let n = 0; line.length < octets - 20; n += 1) line += `<p class="x">Item ${n} – naïve café=</p>`;
  return `${line}</body></html>`;
};

describe('non-MIME messages', () => {
  it('become text/plain quoted-printable, us-ascii when 7-bit', async () => {
    const message = crlf(`Received: from x by y; Mon, 30 Nov 2026 10:00:00 +0000\nFrom: a@example.org\nSubject: report\n\nfirst\n${'word '.repeat(1200)}\nlast line   \n`);
    const { output, summary } = fixed(message);
    assertLines(output, 76);
    assert.match(headerOf(output), /\r\nMIME-Version: 1\.0\r\nContent-Type: text\/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n$/);
    assert.ok(output.toString('latin1').startsWith('Received: from x by y;'), 'existing fields stay first and unchanged');
    assert.deepEqual(summary, { reencodedParts: 1, rewrappedParts: 0, foldedHeaderLines: 0, cutStructureLines: 0 });
    await assertDecodesAsOriginal(message, output);
  });

  it('name utf-8 for 8-bit UTF-8 text and unknown-8bit for other 8-bit octets', async () => {
    const utf8 = crlf(`Subject: x\n\n${'Grüße ✓ '.repeat(300)}\n`);
    const latin1 = Buffer.concat([crlf('Subject: x\n\n'), Buffer.from(`${'Gr\xfc\xdfe '.repeat(300)}\r\n`, 'latin1')]);
    const fixedUtf8 = fixed(utf8).output;
    const fixedLatin1 = fixed(latin1).output;
    assert.match(headerOf(fixedUtf8), /Content-Type: text\/plain; charset=utf-8\r\n/);
    assert.match(headerOf(fixedLatin1), /Content-Type: text\/plain; charset=unknown-8bit\r\n/);
    for (const output of [fixedUtf8, fixedLatin1]) assert.ok(output.every((octet) => octet < 0x80), 'quoted-printable is 7-bit');
    await assertDecodesAsOriginal(utf8, fixedUtf8);
    await assertDecodesAsOriginal(latin1, fixedLatin1);
  });

  it('keep a message whose only long line is in the header as it is, the line folded', () => {
    const recipients = Array.from({ length: 120 }, (_, n) => `user${n}@example.net`).join(', ');
    const message = crlf(`To: ${recipients}\nSubject: many\n\nshort body\n`);
    const { output, summary } = fixed(message);
    assertLines(output, 78);
    assert.equal(summary.foldedHeaderLines, 1);
    assert.equal(output.toString('utf8').replace(/\r\n(?=[ \t])/g, ''), message.toString('utf8'), 'unfolding gives the original back');
    assert.doesNotMatch(output.toString('latin1'), /Content-Transfer-Encoding/);
  });
});

describe('multipart messages', () => {
  const alternative = (htmlLine: string): Buffer =>
    crlf(
      [
        'From: App <app@example.org>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative; boundary="=_b1"',
        '',
        'This is a multi-part message in MIME format.',
        '--=_b1',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        'Plain version, naïve café.',
        '--=_b1',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        htmlLine,
        '--=_b1--',
        '',
      ].join('\n'),
    );

  it('re-encode only the part with the long line, its header saying quoted-printable', async () => {
    const message = alternative(html(5000));
    const { output, summary } = fixed(message);
    assertLines(output);
    const text = output.toString('utf8');
    assert.ok(text.includes('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nPlain version, naïve café.\r\n--=_b1\r\n'), 'the short part is untouched');
    assert.ok(text.includes('Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'));
    assert.equal(text.match(/MIME-Version/g)?.length, 1);
    assertEncodedLines(text.slice(text.indexOf('quoted-printable\r\n\r\n') + 20, text.lastIndexOf('\r\n--=_b1--')));
    assert.deepEqual(summary, { reencodedParts: 1, rewrappedParts: 0, foldedHeaderLines: 0, cutStructureLines: 0 });
    await assertDecodesAsOriginal(message, output);
  });

  it('gives the same bytes whatever the chunking, also with a delimiter right after the long line', () => {
    const message = alternative(html(3000));
    const whole = fixed(message, message.length).output;
    for (const chunkBytes of [1, 2, 3, 7, 64, 999, 1000, 1001, 4096]) assert.ok(fixed(message, chunkBytes).output.equals(whole), `chunks of ${chunkBytes}`);
    const random = seededRandom(7);
    for (let round = 0; round < 20; round += 1) {
      const chunkBytes = 1 + Math.floor(random() * 3000);
      assert.ok(fixed(message, chunkBytes).output.equals(whole), `chunks of ${chunkBytes}`);
    }
  });

  it('fix nested multiparts: text as quoted-printable, an 8-bit attachment as base64 with its exact octets', async () => {
    const binary = Buffer.from(Array.from({ length: 3000 }, (_, n) => (n * 7 + 1) % 256).filter((octet) => octet !== 0x0a && octet !== 0x0d && octet !== 0));
    const message = Buffer.concat([
      crlf(
        [
          'MIME-Version: 1.0',
          'Content-Type: multipart/mixed; boundary=outer',
          '',
          '--outer',
          'Content-Type: multipart/alternative; boundary="inner"',
          '',
          '--inner',
          'Content-Type: text/plain',
          '',
          `${'long plain text '.repeat(100)}`,
          'second line',
          '--inner',
          'Content-Type: text/html; charset=utf-8',
          '',
          html(1500),
          '--inner--',
          '',
          '--outer',
          'Content-Type: application/octet-stream',
          'Content-Transfer-Encoding: binary',
          'Content-Disposition: attachment; filename="data.bin"',
          '',
          '',
        ].join('\n'),
      ),
      binary,
      crlf('\nmore data after a line break\n--outer--\n'),
    ]);
    const { output, summary } = fixed(message);
    assertLines(output, 76);
    assert.equal(summary.reencodedParts, 3);
    const text = output.toString('latin1');
    assert.match(text, /Content-Type: application\/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="data.bin"\r\n\r\n/);
    const leaves = await assertDecodesAsOriginal(message, output);
    assert.deepEqual(leaves.map((leaf) => leaf.cte), ['quoted-printable', 'quoted-printable', 'base64']);
    assert.ok(leaves[2]?.payload.equals(Buffer.concat([binary, Buffer.from('\r\nmore data after a line break')])), 'base64 keeps the line break inside the data and leaves the delimiter its own');
  });

  it('cut a long preamble and epilogue (ignored text) so no piece looks like a delimiter, and trim delimiter padding', async () => {
    const dashes = `${'x'.repeat(75)}--b${'-'.repeat(1500)}`;
    const message = crlf(['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=b', '', dashes, `--b${' '.repeat(1200)}`, 'Content-Type: text/plain', '', 'hello', '--b--', dashes, ''].join('\n'));
    const { output, summary } = fixed(message);
    assertLines(output, 1000);
    assert.equal(summary.cutStructureLines, 3);
    const lines = output.toString('latin1').split('\r\n');
    assert.deepEqual(lines.filter((line) => line.startsWith('--')), ['--b', '--b--']);
    await assertDecodesAsOriginal(message, output);
  });

  it('leave a short message byte for byte as it was', () => {
    const message = alternative('<p>short</p>');
    assert.ok(fixed(message).output.equals(message));
  });
});

describe('parts already encoded', () => {
  it('re-wrap a quoted-printable part with long lines, never inside an escape, white space kept where decoders keep it', async () => {
    const random = seededRandom(3);
    const alphabet = ['a', 'b', ' ', '\t', '=3D', '=C3=A9', '=20', '.', '-'];
    let line = '';
    while (line.length < 4000) line += alphabet[Math.floor(random() * alphabet.length)];
    const message = crlf(['MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable', '', `${line}=`, `${line}  \t `, 'short=20', ''].join('\n'));
    const { output, summary } = fixed(message);
    assertLines(output, 76);
    assert.equal(summary.rewrappedParts, 1);
    assert.match(headerOf(output), /Content-Transfer-Encoding: quoted-printable\r\n$/);
    const [before, after] = await pythonLeaves([message, output]);
    assert.ok(before?.[0]?.payload.equals(after?.[0]?.payload ?? Buffer.alloc(0)), 'decodes to the same octets');
  });

  it('re-wrap a base64 part whose data is one long line', async () => {
    const data = Buffer.from(Array.from({ length: 6000 }, (_, n) => (n * 31) % 256));
    const message = crlf(['MIME-Version: 1.0', 'Content-Type: image/png', 'Content-Transfer-Encoding: base64', '', data.toString('base64'), ''].join('\n'));
    const { output, summary } = fixed(message);
    assertLines(output, 76);
    assert.equal(summary.rewrappedParts, 1);
    const [leaves] = await pythonLeaves([output]);
    assert.ok(leaves?.[0]?.payload.equals(data));
  });

  it('refuse a part in an encoding it cannot know, and a quoted-printable line with a white-space run too long to re-wrap', () => {
    const uuencoded = crlf(['MIME-Version: 1.0', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: x-uuencode', '', 'M'.repeat(1200), ''].join('\n'));
    assert.deepEqual(fix(uuencoded), { ok: false, problem: { kind: 'unknown-encoding', encoding: 'x-uuencode' } });
    const spaces = crlf(['MIME-Version: 1.0', 'Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable', '', `a${' '.repeat(1100)}b`, ''].join('\n'));
    assert.deepEqual(fix(spaces), { ok: false, problem: { kind: 'quoted-printable-unsplittable' } });
  });
});

describe('message/rfc822 parts', () => {
  const forwarded = (inner: string): Buffer =>
    crlf(['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=m', '', '--m', 'Content-Type: text/plain', '', 'See the attached message.', '--m', 'Content-Type: message/rfc822', '', inner, '--m--', ''].join('\n'));

  it('are never re-encoded themselves (RFC 2045 §6.4): the message inside is fixed', async () => {
    const message = forwarded(['From: someone@example.net', 'Subject: inner', '', html(2500)].join('\n'));
    const { output } = fixed(message);
    assertLines(output);
    const text = output.toString('latin1');
    assert.match(text, /Content-Type: message\/rfc822\r\n\r\nFrom: someone@example.net\r\nSubject: inner\r\nMIME-Version: 1\.0\r\nContent-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n/);
    await assertDecodesAsOriginal(message, output);
  });

  it('refuse other message types with long lines (message/partial)', () => {
    const message = crlf(['MIME-Version: 1.0', 'Content-Type: message/partial; id="x"; number=1', '', 'y'.repeat(1200), ''].join('\n'));
    assert.deepEqual(fix(message), { ok: false, problem: { kind: 'not-reencodable', mediaType: 'message/partial' } });
  });

  it('read digest parts without Content-Type as messages', async () => {
    const message = crlf(['MIME-Version: 1.0', 'Content-Type: multipart/digest; boundary=d', '', '--d', '', 'Subject: one', '', 'z'.repeat(1500), '--d--', ''].join('\n'));
    const { output } = fixed(message);
    assertLines(output, 76);
    assert.match(output.toString('latin1'), /--d\r\n\r\nSubject: one\r\nMIME-Version: 1\.0\r\nContent-Type: text\/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n/);
    await assertDecodesAsOriginal(message, output);
  });
});

describe('headers', () => {
  it('fold a long header line of a part, and refuse one without white space to fold at', () => {
    const message = crlf(['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=h', '', '--h', `Content-Type: text/plain; name="${'n'.repeat(40)}"; x-list="${'word '.repeat(300)}"`, '', 'body', '--h--', ''].join('\n'));
    const { output, summary } = fixed(message);
    assertLines(output, 78);
    assert.equal(summary.foldedHeaderLines, 1);
    const unfoldable = crlf(`Subject: ok\nX-Token: ${'t'.repeat(1200)}\n\nbody\n`);
    assert.deepEqual(fix(unfoldable), { ok: false, problem: { kind: 'unfoldable-header', lineOctets: 1209 } });
  });

  it('refuse a header section too large to hold', () => {
    const message = crlf(`${`X-Filler: ${'f '.repeat(500)}\n`.repeat(300)}\nbody ${'b'.repeat(1000)}\n`);
    assert.deepEqual(fix(message), { ok: false, problem: { kind: 'header-too-large' } });
  });
});

describe('memory', () => {
  it('holds a bounded number of bytes for a 25 MB message that is one long line', () => {
    const line = Buffer.alloc(25 * 1024 * 1024, 'a=b c\xe9', 'latin1');
    const message = Buffer.concat([crlf('Subject: huge\n\n'), line, crlf('\n')]);
    const planner = new LongLinePlanner();
    for (let at = 0; at < message.length; at += 65_536) planner.push(message.subarray(at, at + 65_536));
    const plannerHeld = planner.maxHeldBytes;
    const planned = planner.finish();
    assert.ok(planned.ok);
    const rewriter = new LongLineRewriter(planned.plan);
    let outputBytes = 0;
    let largestStep = 0;
    let longest = 0;
    let current = 0;
    for (let at = 0; at <= message.length; at += 65_536) {
      const pieces = at < message.length ? rewriter.push(message.subarray(at, at + 65_536)) : rewriter.end();
      for (const piece of pieces) {
        largestStep = Math.max(largestStep, piece.length);
        outputBytes += piece.length;
        for (const octet of piece) {
          if (octet === 0x0a) current = 0;
          else if (octet !== 0x0d) longest = Math.max(longest, ++current);
        }
      }
    }
    assert.equal(rewriter.problem, undefined);
    assert.ok(plannerHeld <= 128 * 1024, `planner held ${plannerHeld} bytes`);
    assert.ok(rewriter.maxHeldBytes <= 256 * 1024, `rewriter held ${rewriter.maxHeldBytes} bytes`);
    assert.ok(largestStep <= 4 * 65_536, `an output piece of ${largestStep} bytes`);
    assert.ok(outputBytes > line.length, 'the whole line was encoded');
    assert.ok(longest <= 76, `a line of ${longest}`);
  });
});
