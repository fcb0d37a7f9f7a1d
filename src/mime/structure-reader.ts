// Walks the MIME structure of a stored message as it streams past (RFC 2045,
// RFC 2046 §5.1 multipart boundaries, §5.2.1 message/rfc822, RFC 6532 §3.5
// message/global): tells a handler each entity's header section, the lines
// of each leaf body, and the preamble, delimiter and epilogue lines.

import { LineSplitter, type LinePiece } from './line-splitter.js';
import { fieldSpans, fieldValue } from './header-section.js';
import { parseContentType, parseTransferEncoding, type MediaType } from './media-fields.js';

/** A header section longer than this is not held (the structure walk stops). */
export const MAX_HEADER_SECTION_BYTES = 256 * 1024;
/** Entities nested deeper than this stop the walk (bounds the stack and boundary checks). */
export const MAX_NESTING_DEPTH = 64;
/** Each nesting level takes at most two frames (multipart or message, then the entity inside). */
const MAX_STACK_FRAMES = MAX_NESTING_DEPTH * 2;

const DASH = 0x2d;
const SP = 0x20;
const HTAB = 0x09;
const CRLF = Buffer.from('\r\n', 'latin1');

export type BodyKind = 'leaf' | 'multipart' | 'message';

export interface EntityHeader {
  /** Entity number in document order (the same on every walk of the same bytes). */
  readonly index: number;
  /** The entity heads a message: the top level, or the content of a message/rfc822 part. */
  readonly isMessage: boolean;
  /** Index of the message this entity belongs to (its own index when `isMessage`). */
  readonly message: number;
  /** That message's header has MIME-Version. */
  readonly messageHasMimeVersion: boolean;
  /** Header lines with their CRLFs, without the empty line. */
  readonly section: Buffer;
  /** The section ended with an empty line (false: cut short by a boundary or the end). */
  readonly endedByEmptyLine: boolean;
  /** The entity has a Content-Type field (parseable or not). */
  readonly hasContentType: boolean;
  /** The media type that applies: the declared one, else the RFC 2045 §5.2 / RFC 2046 §5.1.5 default. */
  readonly mediaType: MediaType;
  /** Declared Content-Transfer-Encoding, lowercase; undefined when absent. */
  readonly transferEncoding: string | undefined;
  readonly body: BodyKind;
  /** A multipart type without a usable boundary parameter (its body is walked as a leaf). */
  readonly boundaryMissing: boolean;
}

export interface StructureHandler {
  header(entity: EntityHeader): void;
  /** A piece of a line of the current leaf's body. */
  leafLine(piece: LinePiece): void;
  /** The current leaf ended, at a delimiter line (whose CRLF came before it) or at the end of the input. */
  leafEnd(atDelimiter: boolean): void;
  /** A piece of a preamble or epilogue line, or a whole delimiter line. */
  structureLine(piece: LinePiece, role: 'preamble' | 'epilogue' | 'delimiter'): void;
}

export type StructureProblem = 'header-too-large' | 'nested-too-deeply';

type Frame =
  | { readonly kind: 'header'; readonly index: number; readonly message: MessageInfo | undefined; readonly defaultType: MediaType; chunks: Buffer[]; bytes: number }
  | { readonly kind: 'leaf' }
  | { readonly kind: 'message' }
  | { readonly kind: 'multipart'; readonly delimiter: Buffer; readonly digest: boolean; readonly message: MessageInfo; state: 'preamble' | 'parts' | 'epilogue' };

interface MessageInfo {
  readonly index: number;
  readonly hasMimeVersion: boolean;
}

const TEXT_PLAIN: MediaType = { type: 'text', subtype: 'plain', parameters: new Map([['charset', 'us-ascii']]) };
const MESSAGE_RFC822: MediaType = { type: 'message', subtype: 'rfc822', parameters: new Map() };
const ENCAPSULATING = new Set(['rfc822', 'global']);
const IDENTITY_ENCODINGS = new Set([undefined, '7bit', '8bit', 'binary']);

export class StructureReader {
  readonly #handler: StructureHandler;
  readonly #lines = new LineSplitter();
  readonly #stack: Frame[] = [];
  #entities = 0;
  #problem: StructureProblem | undefined;
  #emit = (piece: LinePiece): void => this.#line(piece);

  constructor(handler: StructureHandler) {
    this.#handler = handler;
    this.#openEntity(TEXT_PLAIN, undefined);
  }

  /** Set when the walk stopped; the rest of the input is ignored. */
  get problem(): StructureProblem | undefined {
    return this.#problem;
  }

  /** Bytes held for an unfinished line or header section. */
  get heldBytes(): number {
    const top = this.#stack.at(-1);
    return this.#lines.heldBytes + (top?.kind === 'header' ? top.bytes : 0);
  }

  push(chunk: Buffer): void {
    if (this.#problem === undefined) this.#lines.push(chunk, this.#emit);
  }

  end(): void {
    if (this.#problem !== undefined) return;
    this.#lines.end(this.#emit);
    if (this.#problem === undefined) this.#closeAbove(-1, false);
  }

  #line(piece: LinePiece): void {
    if (this.#problem !== undefined) return;
    if (piece.first && piece.last && piece.bytes[0] === DASH && piece.bytes[1] === DASH && this.#delimiterLine(piece)) return;
    const top = this.#stack.at(-1);
    switch (top?.kind) {
      case 'header':
        if (piece.first && piece.last && piece.bytes.length === 0) this.#headerDone(top, true);
        else this.#keepHeaderBytes(top, piece);
        return;
      case 'leaf':
        this.#handler.leafLine(piece);
        return;
      case 'multipart':
        this.#handler.structureLine(piece, top.state === 'preamble' ? 'preamble' : 'epilogue');
        return;
      default:
        return;
    }
  }

  /** RFC 2046 §5.1.1: a delimiter of this or any enclosing multipart ends what is inside it. */
  #delimiterLine(piece: LinePiece): boolean {
    for (let at = this.#stack.length - 1; at >= 0; at -= 1) {
      const frame = this.#stack[at];
      if (frame?.kind !== 'multipart' || frame.state === 'epilogue') continue;
      const kind = delimiterKind(piece.bytes, frame.delimiter);
      if (kind === undefined) continue;
      this.#closeAbove(at, true);
      if (this.#problem !== undefined) return true;
      this.#handler.structureLine(piece, 'delimiter');
      if (kind === 'close') {
        frame.state = 'epilogue';
      } else {
        frame.state = 'parts';
        this.#openEntity(frame.digest ? MESSAGE_RFC822 : TEXT_PLAIN, frame.message);
      }
      return true;
    }
    return false;
  }

  #keepHeaderBytes(frame: Extract<Frame, { kind: 'header' }>, piece: LinePiece): void {
    const added = piece.bytes.length + (piece.last && piece.broken ? 2 : 0);
    if (frame.bytes + added > MAX_HEADER_SECTION_BYTES) {
      this.#problem = 'header-too-large';
      return;
    }
    frame.chunks.push(Buffer.from(piece.bytes));
    if (piece.last && piece.broken) frame.chunks.push(CRLF);
    frame.bytes += added;
  }

  /** Pops every frame above `keep`; a header cut short is finished first. */
  #closeAbove(keep: number, atDelimiter: boolean): void {
    while (this.#stack.length - 1 > keep && this.#problem === undefined) {
      const top = this.#stack.pop();
      if (top?.kind === 'header') this.#headerDone(top, false);
      else if (top?.kind === 'leaf') this.#handler.leafEnd(atDelimiter);
    }
  }

  /** A new entity inside message `within`, or heading a message of its own when undefined. */
  #openEntity(defaultType: MediaType, within: MessageInfo | undefined): void {
    if (this.#stack.length >= MAX_STACK_FRAMES) {
      this.#problem = 'nested-too-deeply';
      return;
    }
    this.#stack.push({ kind: 'header', index: this.#entities, message: within, defaultType, chunks: [], bytes: 0 });
    this.#entities += 1;
  }

  /** The header section is complete: tell the handler and push the frames of the body. */
  #headerDone(frame: Extract<Frame, { kind: 'header' }>, endedByEmptyLine: boolean): void {
    if (this.#stack.at(-1) === frame) this.#stack.pop();
    const section = Buffer.concat(frame.chunks);
    const spans = fieldSpans(section);
    const value = (name: string): string | undefined => fieldValue(section, spans, name);
    const contentType = value('content-type');
    const transferEncodingValue = value('content-transfer-encoding');
    const isMessage = frame.message === undefined;
    const message: MessageInfo = frame.message ?? { index: frame.index, hasMimeVersion: value('mime-version') !== undefined };
    const isMime = !isMessage || message.hasMimeVersion || contentType !== undefined || transferEncodingValue !== undefined;
    const declared = isMime && contentType !== undefined ? parseContentType(contentType) : undefined;
    const mediaType = declared ?? (isMime ? frame.defaultType : TEXT_PLAIN);
    const transferEncoding = transferEncodingValue === undefined ? undefined : parseTransferEncoding(transferEncodingValue);
    const boundary = mediaType.type === 'multipart' ? mediaType.parameters.get('boundary') : undefined;
    const usableBoundary = boundary !== undefined && boundary.length > 0 && boundary.length <= 200;
    const body: BodyKind =
      mediaType.type === 'multipart' && usableBoundary
        ? 'multipart'
        : mediaType.type === 'message' && ENCAPSULATING.has(mediaType.subtype) && IDENTITY_ENCODINGS.has(transferEncoding)
          ? 'message'
          : 'leaf';
    this.#handler.header({
      index: frame.index,
      isMessage,
      message: message.index,
      messageHasMimeVersion: message.hasMimeVersion,
      section,
      endedByEmptyLine,
      hasContentType: contentType !== undefined,
      mediaType,
      transferEncoding,
      body,
      boundaryMissing: mediaType.type === 'multipart' && !usableBoundary,
    });
    if (body === 'multipart') {
      this.#stack.push({ kind: 'multipart', delimiter: Buffer.from(`--${boundary ?? ''}`, 'utf8'), digest: mediaType.subtype === 'digest', message, state: 'preamble' });
    } else if (body === 'message') {
      this.#stack.push({ kind: 'message' });
      this.#openEntity(TEXT_PLAIN, undefined);
    } else {
      this.#stack.push({ kind: 'leaf' });
    }
  }
}

/** "--boundary" or "--boundary--", then only transport padding (LWSP); RFC 2046 §5.1.1. */
function delimiterKind(line: Buffer, delimiter: Buffer): 'part' | 'close' | undefined {
  if (line.length < delimiter.length || line.compare(delimiter, 0, delimiter.length, 0, delimiter.length) !== 0) return undefined;
  let at = delimiter.length;
  const close = line[at] === DASH && line[at + 1] === DASH;
  if (close) at += 2;
  for (; at < line.length; at += 1) if (line[at] !== SP && line[at] !== HTAB) return undefined;
  return close ? 'close' : 'part';
}
