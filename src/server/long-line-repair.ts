// Makes a message from an authorized client conform to the 998-octet line
// limit before it is signed and queued (RFC 5322 §2.1.1; RFC 6409 §8 lets a
// submission server fix a message): one read of the stored body plans, a
// second rewrites it into the spool's replacement body, and the fixed bytes
// are what the DKIM body hash sees. Memory stays bounded by the chunk sizes.

import { isAscii } from 'node:buffer';
import type { Readable, Writable } from 'node:stream';
import type { MessageSplitter } from '../dkim/message-splitter.js';
import { MAX_LINE_OCTETS } from '../mime/header-section.js';
import { LongLinePlanner, type RewriteProblem } from '../mime/long-line-plan.js';
import { LongLineRewriter, type RewriteSummary } from '../mime/long-line-rewriter.js';
import { withText, type Reply } from '../smtp/reply.js';
import { Replies } from '../smtp/replies.js';
import type { MessageWriter } from '../spool/types.js';
import { drained } from '../core/drained.js';

const LF = 0x0a;

export interface LongLineSummary extends RewriteSummary {
  readonly maxHeldBytes: number;
}

export type RepairOutcome =
  | {
      readonly kind: 'repaired';
      /** The fixed message still has 8-bit octets (a body that was 8bit and stays so, or UTF-8 headers). */
      readonly has8bit: boolean;
      /** Fed with the fixed message, when asked for (DKIM signing applies): made by `dkimSplitter`. */
      readonly splitter: MessageSplitter | undefined;
      /** What was changed, and the most bytes the two passes held between chunks. */
      readonly summary: LongLineSummary;
    }
  | { readonly kind: 'refused'; readonly reply: Reply; readonly reason: 'line-not-fixable' };

/** I/O failures reject (SpoolError from the writer, read errors as they come); the caller aborts the message. */
export async function repairLongLines(writer: MessageWriter, options: { readonly dkimSplitter: (() => MessageSplitter) | undefined }): Promise<RepairOutcome> {
  const rewrite = await writer.rewriteBody();
  const planner = new LongLinePlanner();
  for await (const chunk of chunksOf(rewrite.openOriginal())) planner.push(chunk);
  const planned = planner.finish();
  if (!planned.ok) return refusal(planned.problem);
  const rewriter = new LongLineRewriter(planned.plan);
  const output = new FixedOutput(rewrite.body, options.dkimSplitter?.());
  for await (const chunk of chunksOf(rewrite.openOriginal())) {
    await output.write(rewriter.push(chunk));
    if (rewriter.problem !== undefined) return refusal(rewriter.problem);
  }
  await output.write(rewriter.end());
  if (rewriter.problem !== undefined) return refusal(rewriter.problem);
  if (output.longestLineOctets > MAX_LINE_OCTETS) throw new Error(`long-line rewrite left a line of ${output.longestLineOctets} octets`);
  const summary = { ...rewriter.summary, maxHeldBytes: Math.max(planner.maxHeldBytes, rewriter.maxHeldBytes) };
  return { kind: 'repaired', has8bit: output.has8bit, splitter: output.splitter, summary };
}

async function* chunksOf(stream: Readable): AsyncGenerator<Buffer> {
  for await (const chunk of stream) yield chunk as Buffer;
}

/** The reply that says what could not be fixed (RFC 3463 X.6.3: conversion required but not possible). */
function refusal(problem: RewriteProblem): RepairOutcome {
  const reason = 'line-not-fixable';
  switch (problem.kind) {
    case 'unfoldable-header':
      return { kind: 'refused', reason, reply: withText(Replies.headerLineUnfoldable, `Header line of ${problem.lineOctets} octets has no white space to fold at: at most 998 octets per line (RFC 5322 §2.1.1, §2.2.3)`) };
    case 'unknown-encoding':
      return { kind: 'refused', reason, reply: withText(Replies.lineNotFixable, `A part with lines over 998 octets has Content-Transfer-Encoding ${printable(problem.encoding)}, which cannot be re-encoded`) };
    case 'not-reencodable':
      return { kind: 'refused', reason, reply: withText(Replies.lineNotFixable, `A ${printable(problem.mediaType)} part has lines over 998 octets and may not be re-encoded (RFC 2045 §6.4)`) };
    case 'quoted-printable-unsplittable':
      return { kind: 'refused', reason, reply: withText(Replies.lineNotFixable, 'A quoted-printable part has a line over 998 octets with a run of white space that cannot be re-wrapped') };
    case 'header-too-large':
      return { kind: 'refused', reason, reply: withText(Replies.lineNotFixable, 'Lines over 998 octets cannot be fixed in a header section over 256 KB') };
    case 'nested-too-deeply':
      return { kind: 'refused', reason, reply: withText(Replies.lineNotFixable, 'Lines over 998 octets cannot be fixed in MIME parts nested this deeply') };
  }
}

/** Client-given names in reply text: printable ASCII, short. */
function printable(text: string): string {
  return text.replace(/[^\x21-\x7e /]/g, '?').slice(0, 60);
}

/** Writes the fixed bytes with backpressure, and watches them: 8-bit octets, line lengths, the DKIM split. */
class FixedOutput {
  has8bit = false;
  longestLineOctets = 0;
  /** Octets of the current line so far, its CR included. */
  #lineOctets = 0;

  constructor(
    private readonly body: Writable,
    readonly splitter: MessageSplitter | undefined,
  ) {}

  async write(pieces: readonly Buffer[]): Promise<void> {
    for (const piece of pieces) {
      this.#watch(piece);
      this.splitter?.push(piece);
      // A failed body stream keeps its error for commit(), which then refuses with 451/452.
      if (this.body.destroyed) continue;
      if (!this.body.write(piece)) await drained(this.body);
    }
  }

  #watch(piece: Buffer): void {
    if (!this.has8bit && !isAscii(piece)) this.has8bit = true;
    let start = 0;
    for (let lf = piece.indexOf(LF); lf !== -1; lf = piece.indexOf(LF, start)) {
      this.#endLine(this.#lineOctets + lf - start - 1);
      this.#lineOctets = 0;
      start = lf + 1;
    }
    this.#lineOctets += piece.length - start;
    // A last line without a line break counts as well.
    if (this.#lineOctets > MAX_LINE_OCTETS + 1) this.#endLine(this.#lineOctets);
  }

  #endLine(octets: number): void {
    if (octets > this.longestLineOctets) this.longestLineOctets = octets;
  }
}
