// Pass two of the long-line fix: streams the stored message again and writes
// it out with every line within 998 octets (RFC 5322 §2.1.1), following the
// plan of pass one. Header lines are folded at white space (§2.2.3); leaves
// in the plan are re-encoded or re-wrapped with their Content-Transfer-Encoding
// (and MIME-Version / Content-Type where missing) set to match (RFC 2045);
// over-long preamble, epilogue and delimiter lines are cut. All else is kept.

import { Base64Encoder, BASE64_LINE_CHARS, LineWrapper } from './base64.js';
import { ByteSink } from './byte-sink.js';
import { MAX_LINE_OCTETS, rewriteSection, type SectionEdits } from './header-section.js';
import type { LinePiece } from './line-splitter.js';
import type { LeafPlan, RewritePlan, RewriteProblem } from './long-line-plan.js';
import { QuotedPrintableEncoder, QuotedPrintableRewrapper } from './quoted-printable.js';
import { StructureReader, type EntityHeader, type StructureHandler } from './structure-reader.js';

const CRLF = Buffer.from('\r\n', 'latin1');
const SP = 0x20;
const HTAB = 0x09;

export interface RewriteSummary {
  /** Leaves given a new Content-Transfer-Encoding (quoted-printable or base64). */
  readonly reencodedParts: number;
  /** Quoted-printable or base64 leaves whose lines were re-wrapped. */
  readonly rewrappedParts: number;
  readonly foldedHeaderLines: number;
  /** Preamble, epilogue or delimiter lines cut or trimmed. */
  readonly cutStructureLines: number;
}

interface LeafWriter {
  line(piece: LinePiece): boolean;
  end(atDelimiter: boolean): void;
}

export class LongLineRewriter implements StructureHandler {
  readonly #plan: RewritePlan;
  readonly #sink = new ByteSink();
  readonly #reader: StructureReader;
  readonly #ignoredText: LineWrapper;
  #leaf: LeafWriter | undefined;
  #problem: RewriteProblem | undefined;
  #maxHeldBytes = 0;
  #summary = { reencodedParts: 0, rewrappedParts: 0, foldedHeaderLines: 0, cutStructureLines: 0 };

  constructor(plan: RewritePlan) {
    this.#plan = plan;
    this.#reader = new StructureReader(this);
    this.#ignoredText = new LineWrapper(this.#sink, { wrapAbove: MAX_LINE_OCTETS, width: BASE64_LINE_CHARS, guardDashes: true });
  }

  /** Set when the message turned out not to be fixable; nothing more is written then. */
  get problem(): RewriteProblem | undefined {
    const structural = this.#reader.problem;
    return this.#problem ?? (structural === undefined ? undefined : { kind: structural });
  }

  get summary(): RewriteSummary {
    return { ...this.#summary };
  }

  /** The most bytes held between chunks (unfinished line, header section, pending output). */
  get maxHeldBytes(): number {
    return this.#maxHeldBytes;
  }

  /** Feeds stored bytes; returns the rewritten bytes they complete. */
  push(chunk: Buffer): Buffer[] {
    if (this.problem !== undefined) return [];
    this.#reader.push(chunk);
    this.#noteHeld();
    return this.problem === undefined ? this.#sink.take() : [];
  }

  end(): Buffer[] {
    if (this.problem !== undefined) return [];
    this.#reader.end();
    this.#noteHeld();
    return this.problem === undefined ? this.#sink.take() : [];
  }

  header(entity: EntityHeader): void {
    const leaf = this.#plan.leaves.get(entity.index);
    const append: string[] = [];
    if (this.#plan.addMimeVersion.has(entity.index)) append.push('MIME-Version: 1.0');
    if (leaf?.contentType !== undefined) append.push(`Content-Type: ${leaf.contentType}`);
    const transferEncoding = leaf?.action === 'quoted-printable' || leaf?.action === 'base64' ? leaf.action : undefined;
    const edits: SectionEdits = { append, ...(transferEncoding === undefined ? {} : { transferEncoding }) };
    if (append.length === 0 && transferEncoding === undefined && entity.section.length <= MAX_LINE_OCTETS) {
      this.#sink.bytes(entity.section);
    } else {
      const rewritten = rewriteSection(entity.section, edits);
      if (!rewritten.ok) {
        this.#fail({ kind: 'unfoldable-header', lineOctets: rewritten.unfoldableLineOctets });
        return;
      }
      this.#summary.foldedHeaderLines += rewritten.foldedLines;
      this.#sink.bytes(rewritten.section);
    }
    if (entity.endedByEmptyLine) this.#sink.bytes(CRLF);
    if (entity.body === 'leaf') this.#leaf = this.#leafWriter(leaf);
  }

  leafLine(piece: LinePiece): void {
    if (this.#problem !== undefined) return;
    if (this.#leaf?.line(piece) === false) this.#fail({ kind: 'quoted-printable-unsplittable' });
  }

  leafEnd(atDelimiter: boolean): void {
    this.#leaf?.end(atDelimiter);
    this.#leaf = undefined;
  }

  structureLine(piece: LinePiece, role: 'preamble' | 'epilogue' | 'delimiter'): void {
    if (role === 'delimiter' && piece.bytes.length > MAX_LINE_OCTETS) {
      // RFC 2046 §5.1.1: transport padding after a boundary is to be ignored; it goes.
      this.#sink.bytes(trimEndWsp(piece.bytes));
      this.#summary.cutStructureLines += 1;
    } else if (role === 'delimiter') {
      this.#sink.bytes(piece.bytes);
    } else {
      if (piece.first && (!piece.last || piece.bytes.length > MAX_LINE_OCTETS)) this.#summary.cutStructureLines += 1;
      this.#ignoredText.write(piece.bytes, piece.first && piece.last);
      if (piece.last) this.#ignoredText.endLine(false);
    }
    if (piece.last && piece.broken) this.#sink.bytes(CRLF);
  }

  #leafWriter(plan: LeafPlan | undefined): LeafWriter {
    const sink = this.#sink;
    switch (plan?.action) {
      case undefined:
        return keptLeaf(sink);
      case 'quoted-printable':
        this.#summary.reencodedParts += 1;
        return quotedPrintableLeaf(sink);
      case 'base64':
        this.#summary.reencodedParts += 1;
        return base64Leaf(sink);
      case 'rewrap-quoted-printable':
        this.#summary.rewrappedParts += 1;
        return rewrappedQuotedPrintableLeaf(sink);
      case 'rewrap-base64':
        this.#summary.rewrappedParts += 1;
        return rewrappedLeaf(new LineWrapper(sink, { wrapAbove: BASE64_LINE_CHARS, width: BASE64_LINE_CHARS, guardDashes: false }), sink);
    }
  }

  #noteHeld(): void {
    const held = this.#reader.heldBytes + this.#sink.pendingBytes;
    if (held > this.#maxHeldBytes) this.#maxHeldBytes = held;
  }

  #fail(problem: RewriteProblem): void {
    this.#problem ??= problem;
  }
}

function keptLeaf(sink: ByteSink): LeafWriter {
  return {
    line(piece) {
      sink.bytes(piece.bytes);
      if (piece.last && piece.broken) sink.bytes(CRLF);
      return true;
    },
    end() {},
  };
}

/** Text: each line break stays a hard line break (RFC 2045 §6.7 rule 4). */
function quotedPrintableLeaf(sink: ByteSink): LeafWriter {
  const encoder = new QuotedPrintableEncoder(sink);
  return {
    line(piece) {
      encoder.write(piece.bytes);
      if (piece.last) encoder.endLine(piece.broken);
      return true;
    },
    end() {},
  };
}

/**
 * Other media: the octets, line breaks included, are base64 data. The line
 * break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1), so each
 * one is held until more content follows; at the end of the message it is data.
 */
function base64Leaf(sink: ByteSink): LeafWriter {
  const encoder = new Base64Encoder(sink);
  let heldBreak = false;
  return {
    line(piece) {
      if (heldBreak) encoder.write(CRLF);
      heldBreak = false;
      encoder.write(piece.bytes);
      if (piece.last && piece.broken) heldBreak = true;
      return true;
    },
    end(atDelimiter) {
      if (heldBreak && !atDelimiter) encoder.write(CRLF);
      encoder.end();
    },
  };
}

function rewrappedQuotedPrintableLeaf(sink: ByteSink): LeafWriter {
  const rewrapper = new QuotedPrintableRewrapper(sink);
  return {
    line(piece) {
      if (!rewrapper.write(piece.bytes, piece.first && piece.last)) return false;
      if (piece.last) rewrapper.endLine(piece.broken);
      return true;
    },
    end() {},
  };
}

function rewrappedLeaf(wrapper: LineWrapper, sink: ByteSink): LeafWriter {
  return {
    line(piece) {
      wrapper.write(piece.bytes, piece.first && piece.last);
      if (piece.last) {
        wrapper.endLine(false);
        if (piece.broken) sink.bytes(CRLF);
      }
      return true;
    },
    end() {},
  };
}

function trimEndWsp(line: Buffer): Buffer {
  let end = line.length;
  while (end > 0 && (line[end - 1] === SP || line[end - 1] === HTAB)) end -= 1;
  return line.subarray(0, end);
}
