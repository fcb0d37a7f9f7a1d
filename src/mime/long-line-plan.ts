// Pass one of the long-line fix (RFC 5322 §2.1.1, RFC 5321 §4.5.3.1.6): walks
// the stored message and decides, for each leaf part with a line over 998
// octets, how it is re-encoded (RFC 2045 §6.7 quoted-printable for text, §6.8
// base64 for other media, re-wrapping for a body already so encoded), or why
// the message cannot be fixed. Memory: one record per part that changes.

import { isAscii } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { MAX_LINE_OCTETS, rewriteSection } from './header-section.js';
import type { LinePiece } from './line-splitter.js';
import { StructureReader, type EntityHeader, type StructureHandler } from './structure-reader.js';

export type LeafAction = 'quoted-printable' | 'base64' | 'rewrap-quoted-printable' | 'rewrap-base64';

export interface LeafPlan {
  readonly action: LeafAction;
  /** A Content-Type field value to add: the leaf has none, and its charset is now said. */
  readonly contentType?: string;
}

export interface RewritePlan {
  /** Leaves that change, by entity index; every other byte is kept. */
  readonly leaves: ReadonlyMap<number, LeafPlan>;
  /** Messages (by entity index) whose header gets `MIME-Version: 1.0`. */
  readonly addMimeVersion: ReadonlySet<number>;
}

export type RewriteProblem =
  | { readonly kind: 'header-too-large' }
  | { readonly kind: 'nested-too-deeply' }
  | { readonly kind: 'unfoldable-header'; readonly lineOctets: number }
  | { readonly kind: 'unknown-encoding'; readonly encoding: string }
  | { readonly kind: 'not-reencodable'; readonly mediaType: string }
  | { readonly kind: 'quoted-printable-unsplittable' };

export type PlanResult = { readonly ok: true; readonly plan: RewritePlan } | { readonly ok: false; readonly problem: RewriteProblem };

const LINE_BREAK = Buffer.from('\r\n', 'latin1');
const IDENTITY_ENCODINGS = new Set([undefined, '7bit', '8bit', 'binary']);

interface LeafStats {
  readonly entity: EntityHeader;
  longestLine: number;
  lineOctets: number;
  eightBit: boolean;
  /** Checks the body is UTF-8, only for a leaf without Content-Type (its charset is to be named). */
  utf8: TextDecoder | undefined;
  utf8Valid: boolean;
}

export class LongLinePlanner implements StructureHandler {
  readonly #reader: StructureReader;
  readonly #leaves = new Map<number, LeafPlan>();
  readonly #addMimeVersion = new Set<number>();
  #leaf: LeafStats | undefined;
  #problem: RewriteProblem | undefined;
  #maxHeldBytes = 0;

  constructor() {
    this.#reader = new StructureReader(this);
  }

  /** The most bytes held between chunks (an unfinished line or header section). */
  get maxHeldBytes(): number {
    return this.#maxHeldBytes;
  }

  push(chunk: Buffer): void {
    if (this.#problem !== undefined) return;
    this.#reader.push(chunk);
    this.#maxHeldBytes = Math.max(this.#maxHeldBytes, this.#reader.heldBytes);
  }

  finish(): PlanResult {
    if (this.#problem === undefined) this.#reader.end();
    const structural = this.#reader.problem;
    const problem = this.#problem ?? (structural === undefined ? undefined : { kind: structural });
    if (problem !== undefined) return { ok: false, problem };
    return { ok: true, plan: { leaves: this.#leaves, addMimeVersion: this.#addMimeVersion } };
  }

  header(entity: EntityHeader): void {
    if (entity.section.length > MAX_LINE_OCTETS) {
      const folded = rewriteSection(entity.section);
      if (!folded.ok) this.#fail({ kind: 'unfoldable-header', lineOctets: folded.unfoldableLineOctets });
    }
    if (entity.body !== 'leaf') return;
    const utf8 = entity.hasContentType ? undefined : new TextDecoder('utf-8', { fatal: true });
    this.#leaf = { entity, longestLine: 0, lineOctets: 0, eightBit: false, utf8, utf8Valid: true };
  }

  leafLine(piece: LinePiece): void {
    const leaf = this.#leaf;
    if (leaf === undefined) return;
    leaf.lineOctets += piece.bytes.length;
    if (!leaf.eightBit && !isAscii(piece.bytes)) leaf.eightBit = true;
    if (leaf.utf8 !== undefined && leaf.eightBit) this.#checkUtf8(leaf, piece.bytes);
    if (!piece.last) return;
    if (leaf.utf8 !== undefined && leaf.eightBit) this.#checkUtf8(leaf, LINE_BREAK);
    if (leaf.lineOctets > leaf.longestLine) leaf.longestLine = leaf.lineOctets;
    leaf.lineOctets = 0;
  }

  leafEnd(): void {
    const leaf = this.#leaf;
    this.#leaf = undefined;
    if (leaf === undefined) return;
    if (leaf.utf8 !== undefined) this.#checkUtf8(leaf, Buffer.alloc(0), true);
    const longest = Math.max(leaf.longestLine, leaf.lineOctets);
    if (longest <= MAX_LINE_OCTETS) return;
    const decision = decide(leaf.entity, leaf.eightBit ? (leaf.utf8Valid ? 'utf-8' : 'unknown-8bit') : 'us-ascii');
    if ('kind' in decision) {
      this.#fail(decision);
      return;
    }
    this.#leaves.set(leaf.entity.index, decision);
    const changesEncoding = decision.action === 'quoted-printable' || decision.action === 'base64';
    if (changesEncoding && !leaf.entity.messageHasMimeVersion) this.#addMimeVersion.add(leaf.entity.message);
  }

  structureLine(): void {
    // Preamble, epilogue and delimiter lines are re-cut where they stand (pass two); nothing to plan.
  }

  #checkUtf8(leaf: LeafStats, bytes: Buffer, last = false): void {
    try {
      leaf.utf8?.decode(bytes, { stream: !last });
    } catch {
      leaf.utf8Valid = false;
      leaf.utf8 = undefined;
    }
  }

  #fail(problem: RewriteProblem): void {
    this.#problem ??= problem;
  }
}

/**
 * How a leaf with a long line is made conforming. Identity encodings become
 * quoted-printable for text (readable, line structure kept as hard breaks) and
 * base64 for other media (their octets are data, RFC 2045 §6.7 rule 4 forbids
 * hard breaks there); a quoted-printable or base64 body is re-wrapped, which
 * decoders cannot tell from the original; anything else cannot be fixed.
 */
export function decide(entity: EntityHeader, charset: 'us-ascii' | 'utf-8' | 'unknown-8bit'): LeafPlan | RewriteProblem {
  const { type, subtype } = entity.mediaType;
  if (entity.boundaryMissing) return { kind: 'not-reencodable', mediaType: `${type}/${subtype} without a boundary` };
  if (entity.transferEncoding === 'quoted-printable') return { action: 'rewrap-quoted-printable' };
  if (entity.transferEncoding === 'base64') return { action: 'rewrap-base64' };
  if (!IDENTITY_ENCODINGS.has(entity.transferEncoding)) return { kind: 'unknown-encoding', encoding: entity.transferEncoding ?? '' };
  // RFC 2045 §6.4: composite types (message/*) take no encoding but 7bit, 8bit or binary.
  if (type === 'message' || type === 'multipart') return { kind: 'not-reencodable', mediaType: `${type}/${subtype}` };
  if (type !== 'text') return { action: 'base64' };
  return entity.hasContentType ? { action: 'quoted-printable' } : { action: 'quoted-printable', contentType: `text/plain; charset=${charset}` };
}
