// SMTP replies: a code, an enhanced status code (RFC 3463, RFC 2034) and
// text lines, with multiline formatting per RFC 5321 §4.2.1.

export interface Reply {
  readonly code: number;
  /** "2.0.0"-style enhanced status code, or undefined before EHLO-less replies like the greeting. */
  readonly status: string | undefined;
  readonly lines: readonly string[];
}

export function reply(code: number, status: string | undefined, ...lines: string[]): Reply {
  return { code, status, lines: lines.length === 0 ? [''] : lines };
}

/** The same reply with other text. */
export function withText(base: Reply, ...lines: string[]): Reply {
  return { code: base.code, status: base.status, lines };
}

export function isPositive(r: Reply): boolean {
  return r.code >= 200 && r.code < 400;
}

/** Wire form: "250-first\r\n250 2.0.0 last\r\n". Enhanced codes go on every line (RFC 2034 §4). */
export function formatReply(r: Reply): string {
  const prefix = r.status === undefined ? '' : `${r.status} `;
  return r.lines
    .map((line, index) => `${r.code}${index === r.lines.length - 1 ? ' ' : '-'}${prefix}${line}`.trimEnd() + '\r\n')
    .join('');
}

/** One-line text for logs and spool records: "451 4.4.3 text". */
export function replyText(r: Reply): string {
  const prefix = r.status === undefined ? '' : `${r.status} `;
  return `${r.code} ${prefix}${r.lines.join(' ')}`.trimEnd();
}
