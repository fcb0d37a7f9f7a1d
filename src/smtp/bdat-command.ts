// The argument of the BDAT command (RFC 3030 §2: "BDAT" SP chunk-size [SP "LAST"],
// chunk-size = 1*DIGIT). Tells a size that can be read, so the chunk's octets can
// be consumed even when the rest of the line is wrong, from one that cannot.

export type BdatArgument =
  | { readonly kind: 'chunk'; readonly sizeOctets: number; readonly last: boolean }
  /** A readable chunk size followed by something other than a lone LAST: refused, its octets still consumed. */
  | { readonly kind: 'bad-argument'; readonly sizeOctets: number }
  /** No chunk size, not 1*DIGIT, or beyond exact counting: where the chunk ends cannot be known. */
  | { readonly kind: 'unreadable-size' };

const CHUNK_SIZE = /^[0-9]+$/;

export function parseBdatArgument(argument: string): BdatArgument {
  const words = argument.trim().split(/[ \t]+/);
  const [sizeText = '', ...rest] = words;
  if (!CHUNK_SIZE.test(sizeText)) return { kind: 'unreadable-size' };
  const sizeOctets = Number(sizeText);
  if (!Number.isSafeInteger(sizeOctets)) return { kind: 'unreadable-size' };
  if (rest.length === 0) return { kind: 'chunk', sizeOctets, last: false };
  if (rest.length === 1 && rest[0]?.toUpperCase() === 'LAST') return { kind: 'chunk', sizeOctets, last: true };
  return { kind: 'bad-argument', sizeOctets };
}
