// Reads the header section of a stored body (RFC 5322 §2.1: up to the first
// empty line), capped at a byte limit so a huge body is never loaded; the body
// is a whole file or a range of a queue log segment.

import { open } from 'node:fs/promises';

export const DEFAULT_MAX_HEADER_BYTES = 256 * 1024;

/** The header lines with their CRLFs, without the empty separator line; cut at the last full line when over the cap. */
export async function readHeaderSection(
  path: string,
  maxBytes: number = DEFAULT_MAX_HEADER_BYTES,
  range?: { readonly start: number; readonly length: number },
): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes);
    const start = range?.start ?? 0;
    const readable = Math.min(maxBytes, range?.length ?? maxBytes);
    let filledBytes = 0;
    while (filledBytes < readable) {
      const { bytesRead } = await handle.read(buffer, filledBytes, readable - filledBytes, start + filledBytes);
      if (bytesRead === 0) break;
      filledBytes += bytesRead;
      const end = headerEnd(buffer.subarray(0, filledBytes));
      if (end !== undefined) return buffer.toString('utf8', 0, end);
    }
    const text = buffer.subarray(0, filledBytes);
    if (filledBytes < maxBytes) return text.toString('utf8');
    const lastLineEnd = text.lastIndexOf('\r\n');
    return text.toString('utf8', 0, lastLineEnd < 0 ? 0 : lastLineEnd + 2);
  } finally {
    await handle.close();
  }
}

function headerEnd(bytes: Buffer): number | undefined {
  if (bytes.length >= 2 && bytes[0] === 0x0d && bytes[1] === 0x0a) return 0;
  const index = bytes.indexOf('\r\n\r\n');
  return index < 0 ? undefined : index + 2;
}
