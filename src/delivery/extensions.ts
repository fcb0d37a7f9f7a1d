// The service extensions a server announced in its EHLO reply (RFC 5321
// §4.1.1.1): STARTTLS (RFC 3207), PIPELINING (RFC 2920), SIZE (RFC 1870),
// 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), AUTH (RFC 4954 §3), REQUIRETLS (RFC 8689 §2).
// After HELO there are none.

import type { Reply } from '../smtp/reply.js';

export interface Extensions {
  readonly startTls: boolean;
  readonly pipelining: boolean;
  readonly eightBitMime: boolean;
  readonly smtpUtf8: boolean;
  /** REQUIRETLS: announced by servers that relay REQUIRETLS messages (RFC 8689 §2: after STARTTLS). */
  readonly requireTls: boolean;
  /** SIZE was announced; `maxSizeBytes` is its limit, undefined when none was given (or 0: no fixed limit). */
  readonly size: boolean;
  readonly maxSizeBytes: number | undefined;
  /** SASL mechanisms offered by AUTH, upper case (also the pre-standard "AUTH=" line). */
  readonly authMechanisms: readonly string[];
}

export const NO_EXTENSIONS: Extensions = { startTls: false, pipelining: false, eightBitMime: false, smtpUtf8: false, requireTls: false, size: false, maxSizeBytes: undefined, authMechanisms: [] };

/** Reads the EHLO reply's lines after the first (the greeting name). */
export function parseExtensions(reply: Reply): Extensions {
  const keywords = new Map<string, string>();
  const mechanisms = new Set<string>();
  for (const line of reply.lines.slice(1)) {
    const [first = '', ...params] = line.trim().split(/\s+/);
    // Old servers announce "AUTH=LOGIN PLAIN" for clients that predate RFC 2554.
    const keyword = /^AUTH=/i.test(first) ? 'AUTH' : first;
    if (keyword !== first) params.unshift(first.slice('AUTH='.length));
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(keyword)) continue;
    keywords.set(keyword.toUpperCase(), params.join(' '));
    if (keyword.toUpperCase() === 'AUTH') for (const mechanism of params) if (/^[A-Za-z0-9_-]{1,20}$/.test(mechanism)) mechanisms.add(mechanism.toUpperCase());
  }
  const sizeParam = keywords.get('SIZE');
  const sizeValue = sizeParam !== undefined && /^[0-9]{1,15}$/.test(sizeParam) ? Number(sizeParam) : undefined;
  return {
    startTls: keywords.has('STARTTLS'),
    pipelining: keywords.has('PIPELINING'),
    eightBitMime: keywords.has('8BITMIME'),
    smtpUtf8: keywords.has('SMTPUTF8'),
    requireTls: keywords.has('REQUIRETLS'),
    size: sizeParam !== undefined,
    maxSizeBytes: sizeValue === undefined || sizeValue === 0 ? undefined : sizeValue,
    authMechanisms: [...mechanisms],
  };
}
