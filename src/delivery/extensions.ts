// The service extensions a server announced in its EHLO reply (RFC 5321
// §4.1.1.1): STARTTLS (RFC 3207), PIPELINING (RFC 2920), SIZE (RFC 1870),
// 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531). After HELO there are none.

import type { Reply } from '../smtp/reply.js';

export interface Extensions {
  readonly startTls: boolean;
  readonly pipelining: boolean;
  readonly eightBitMime: boolean;
  readonly smtpUtf8: boolean;
  /** SIZE was announced; `maxSizeBytes` is its limit, undefined when none was given (or 0: no fixed limit). */
  readonly size: boolean;
  readonly maxSizeBytes: number | undefined;
}

export const NO_EXTENSIONS: Extensions = { startTls: false, pipelining: false, eightBitMime: false, smtpUtf8: false, size: false, maxSizeBytes: undefined };

/** Reads the EHLO reply's lines after the first (the greeting name). */
export function parseExtensions(reply: Reply): Extensions {
  const keywords = new Map<string, string>();
  for (const line of reply.lines.slice(1)) {
    const [keyword = '', ...params] = line.trim().split(/\s+/);
    if (/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(keyword)) keywords.set(keyword.toUpperCase(), params.join(' '));
  }
  const sizeParam = keywords.get('SIZE');
  const sizeValue = sizeParam !== undefined && /^[0-9]{1,15}$/.test(sizeParam) ? Number(sizeParam) : undefined;
  return {
    startTls: keywords.has('STARTTLS'),
    pipelining: keywords.has('PIPELINING'),
    eightBitMime: keywords.has('8BITMIME'),
    smtpUtf8: keywords.has('SMTPUTF8'),
    size: sizeParam !== undefined,
    maxSizeBytes: sizeValue === undefined || sizeValue === 0 ? undefined : sizeValue,
  };
}
