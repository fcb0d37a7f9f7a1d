// Relaxed header canonicalization (RFC 6376 §3.4.2) over a field's exact octets,
// and the choice of field instances an h= list names (RFC 6376 §5.4.2: bottom-up,
// a name listed more often than present contributes nothing for the extra entries).

import type { HeaderField } from './message-splitter.js';

/** The octets a field was stored as: `octets` when the splitter kept them, else `raw` as UTF-8. */
export function fieldOctets(field: HeaderField): Buffer {
  return field.octets ?? Buffer.from(field.raw, 'utf8');
}

/**
 * "name:value" with the name lowercased (ASCII only), continuation lines unfolded,
 * WSP runs made one SP and WSP around the colon and at the end removed; no CRLF.
 * Works on latin1 text so that every octet, 8-bit or UTF-8, passes through unchanged.
 */
export function relaxedHeader(octets: Buffer): Buffer {
  const text = octets.toString('latin1');
  const colon = text.indexOf(':');
  const name = colon === -1 ? text : text.slice(0, colon);
  const value = colon === -1 ? '' : text.slice(colon + 1);
  const canonicalName = name.replace(/[\t ]+$/, '').replace(/[A-Z]/g, (letter) => letter.toLowerCase());
  const canonicalValue = value
    .replace(/\r\n/g, '')
    .replace(/[\t ]+/g, ' ')
    .replace(/^ | $/g, '');
  return Buffer.from(`${canonicalName}:${canonicalValue}`, 'latin1');
}

/** Header field names compare case-insensitively (RFC 5322 §1.2.2); ASCII only. */
export function sameFieldName(left: string, right: string): boolean {
  return left.length === right.length && left.toLowerCase() === right.toLowerCase();
}

/**
 * The fields an h= list selects, in h= order: for each name, the last instance not
 * yet taken (undefined when none is left: an over-signed name, hashed as nothing).
 */
export function selectSignedFields(headers: readonly HeaderField[], signedNames: readonly string[]): (HeaderField | undefined)[] {
  const taken = new Set<number>();
  return signedNames.map((signedName) => {
    for (let index = headers.length - 1; index >= 0; index--) {
      const field = headers[index];
      if (field !== undefined && !taken.has(index) && sameFieldName(field.name, signedName)) {
        taken.add(index);
        return field;
      }
    }
    return undefined;
  });
}

/** The header hash input: each selected field relaxed with CRLF, then the signature field relaxed without CRLF (RFC 6376 §3.7). */
export function headerHashInput(selected: readonly (HeaderField | undefined)[], signatureFieldWithEmptyB: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (const field of selected) {
    if (field === undefined) continue;
    parts.push(relaxedHeader(fieldOctets(field)), Buffer.from('\r\n', 'latin1'));
  }
  parts.push(relaxedHeader(signatureFieldWithEmptyB));
  return Buffer.concat(parts);
}
