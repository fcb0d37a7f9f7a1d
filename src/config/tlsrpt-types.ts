// The value type of the TLS reporting texts (INTERFACE.md `tlsrpt.organization`,
// `tlsrpt.contact`): one line of printable text for the RFC 8460 §4.4 report,
// or "" for the default (the hostname, postmaster@hostname).

import type { LeafType } from './leaf-types.js';
import { describeValue, success } from './values.js';

/** Long enough for a name or an address, short enough for a report header. */
export const MAX_REPORT_TEXT_CHARS = 200;

/** Trimmed text without control characters, at most MAX_REPORT_TEXT_CHARS; "" = the default. */
export const reportTextType: LeafType<string> = {
  parse(raw, field) {
    if (raw === null) return '';
    if (typeof raw !== 'string') {
      field.report(field.path, `${describeValue(raw)} is not text (or "" for the default)`);
      return undefined;
    }
    const text = raw.trim();
    if (/[\x00-\x1f\x7f]/.test(text)) {
      field.report(field.path, `${describeValue(raw)} contains a control character`);
      return undefined;
    }
    if (text.length > MAX_REPORT_TEXT_CHARS) {
      field.report(field.path, `the text is ${text.length} characters, more than ${MAX_REPORT_TEXT_CHARS}`);
      return undefined;
    }
    return text;
  },
  fromEnv: (text) => success(text),
};
