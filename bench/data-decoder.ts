// Throughput of the DATA decoder (RFC 5321 §4.5.2 unstuffing and end-of-data
// scanning) on realistic mail text fed in 64 KiB chunks; prints MB/s, no assertions.

import { DataDecoder } from '../src/smtp/data-decoder.js';

const CHUNK_BYTES = 64 * 1024;
const TOTAL_BYTES = 200 * 1024 * 1024;
const MESSAGE_BYTES = 4 * 1024 * 1024;

/** One dot-stuffed message: headers, a text part with some leading-dot lines, a base64 part. */
function sampleMessage(sizeBytes: number): Buffer {
  const lines: string[] = [
    'Received: from client.example (client.example [192.0.2.7]) by mx.example.org',
    'From: Alice <alice@example.com>',
    'To: Bob <bob@example.org>',
    'Subject: Quarterly figures',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
  ];
  const words = 'the quick brown fox jumps over a lazy dog while reports arrive daily'.split(' ');
  let seed = 1;
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  let size = 0;
  for (let k = 0; size < sizeBytes / 3; k++) {
    let line = k % 40 === 0 ? '..' : '';
    while (line.length < 60 + (next() % 12)) line += `${words[next() % words.length] ?? 'x'} `;
    lines.push(line);
    size += line.length + 2;
  }
  lines.push('--b1', 'Content-Type: application/pdf', 'Content-Transfer-Encoding: base64', '');
  const base64Line = Buffer.from(Array.from({ length: 57 }, () => next() & 0xff)).toString('base64');
  while (size < sizeBytes) {
    lines.push(base64Line);
    size += base64Line.length + 2;
  }
  lines.push('--b1--');
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
}

function run(label: string, body: Buffer): void {
  const marker = Buffer.from('.\r\n', 'latin1');
  const rounds = Math.ceil(TOTAL_BYTES / body.length);
  let fedBytes = 0;
  let storedBytes = 0;
  const started = process.hrtime.bigint();
  for (let round = 0; round < rounds; round++) {
    const decoder = new DataDecoder({ maxMessageBytes: 64 * 1024 * 1024 });
    const wire = round === rounds - 1 ? Buffer.concat([body, marker]) : body;
    for (let offset = 0; offset < wire.length; offset += CHUNK_BYTES) {
      const step = decoder.push(wire.subarray(offset, offset + CHUNK_BYTES));
      for (const piece of step.output) storedBytes += piece.length;
    }
    fedBytes += wire.length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const megabytes = fedBytes / 1e6;
  console.log(`${label}: fed ${megabytes.toFixed(1)} MB (stored ${(storedBytes / 1e6).toFixed(1)} MB) ` +
    `in ${seconds.toFixed(3)} s: ${(megabytes / seconds).toFixed(0)} MB/s`);
}

const message = sampleMessage(MESSAGE_BYTES);
run('CRLF mail text', message);
run('bare-LF mail text (normalised)', Buffer.from(message.toString('latin1').replaceAll('\r\n', '\n'), 'latin1'));
