// ESMTP parameters after the MAIL and RCPT paths: the generic syntax (RFC 5321 §4.1.2 esmtp-param)
// and the MAIL parameters we support: SIZE (RFC 1870 §6), BODY (RFC 6152 §2), SMTPUTF8 (RFC 6531 §3.4),
// AUTH (RFC 4954 §5), REQUIRETLS (RFC 8689 §2). No RCPT parameter is supported yet.

export interface EsmtpParam {
  /** Uppercased (keywords are ASCII and case-insensitive). */
  readonly keyword: string;
  /** As written; undefined when the parameter had no "=value". */
  readonly value: string | undefined;
}

/** esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
/**
 * esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii). Non-ASCII excludes C1 controls,
 * lone surrogates and U+FFFD (how the caller's decoder marks invalid UTF-8).
 */
const VALUE = /^[\x21-\x3c\x3e-\x7e\u{a0}-\u{d7ff}\u{e000}-\u{fffc}\u{fffe}-\u{10ffff}]+$/u;
/** size-value ::= 1*20DIGIT (RFC 1870 §6). */
const SIZE_VALUE = /^[0-9]{1,20}$/;
/** body-value ::= "7BIT" / "8BITMIME" (RFC 6152); ASCII-only case-insensitive (no `u` flag). */
const BODY_VALUE = /^(?:7BIT|8BITMIME)$/i;
/** xtext = *( xchar / hexchar ), xchar = %d33-42 / %d44-60 / %d62-126, hexchar = "+" 2HEXDIG (RFC 3461 §4, RFC 4954 §5); "<>" is xtext too. */
const XTEXT = /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})+$/;

/**
 * Splits the text after a path into parameters. Runs of spaces between parameters and
 * leading/trailing spaces are tolerated; undefined means a syntax error (bad keyword,
 * empty value, "=" or a control character in a value).
 */
export function parseEsmtpParams(text: string): EsmtpParam[] | undefined {
  const params: EsmtpParam[] = [];
  for (const piece of text.split(' ')) {
    if (piece === '') continue;
    const equals = piece.indexOf('=');
    const keyword = equals < 0 ? piece : piece.slice(0, equals);
    const value = equals < 0 ? undefined : piece.slice(equals + 1);
    if (!KEYWORD.test(keyword)) return undefined;
    if (value !== undefined && !VALUE.test(value)) return undefined;
    params.push({ keyword: keyword.toUpperCase(), value });
  }
  return params;
}

export type MailParamsResult =
  | {
      ok: true;
      /** SIZE declared by the client. Above Number.MAX_SAFE_INTEGER it is approximate, but still larger than any limit. */
      sizeBytes: number | undefined;
      body: '7BIT' | '8BITMIME' | undefined;
      smtputf8: boolean;
      /** The AUTH= value as written (xtext-encoded mailbox or "<>"). */
      auth: string | undefined;
      /** REQUIRETLS (RFC 8689 §2): the message must only travel over verified TLS; valid only inside TLS (the caller checks). */
      requireTls: boolean;
    }
  | { ok: false; error: 'unknown-param' | 'bad-value' | 'duplicate'; keyword: string };

/** Interprets MAIL FROM parameters; the first problem found wins. */
export function interpretMailParams(params: readonly EsmtpParam[]): MailParamsResult {
  let sizeBytes: number | undefined;
  let body: '7BIT' | '8BITMIME' | undefined;
  let smtputf8 = false;
  let auth: string | undefined;
  let requireTls = false;
  const seen = new Set<string>();
  for (const { keyword, value } of params) {
    if (seen.has(keyword)) return { ok: false, error: 'duplicate', keyword };
    seen.add(keyword);
    switch (keyword) {
      case 'SIZE':
        if (value === undefined || !SIZE_VALUE.test(value)) return { ok: false, error: 'bad-value', keyword };
        sizeBytes = Number(value);
        break;
      case 'BODY':
        if (value === undefined || !BODY_VALUE.test(value)) return { ok: false, error: 'bad-value', keyword };
        body = value.length === 4 ? '7BIT' : '8BITMIME';
        break;
      case 'SMTPUTF8':
        if (value !== undefined) return { ok: false, error: 'bad-value', keyword };
        smtputf8 = true;
        break;
      case 'AUTH':
        if (value === undefined || !XTEXT.test(value)) return { ok: false, error: 'bad-value', keyword };
        auth = value;
        break;
      case 'REQUIRETLS':
        if (value !== undefined) return { ok: false, error: 'bad-value', keyword };
        requireTls = true;
        break;
      default:
        return { ok: false, error: 'unknown-param', keyword };
    }
  }
  return { ok: true, sizeBytes, body, smtputf8, auth, requireTls };
}

/** Interprets RCPT TO parameters: none is supported yet (no DSN), so any parameter is unknown. */
export function interpretRcptParams(params: readonly EsmtpParam[]): { ok: true } | { ok: false; error: 'unknown-param'; keyword: string } {
  const first = params[0];
  return first === undefined ? { ok: true } : { ok: false, error: 'unknown-param', keyword: first.keyword };
}
