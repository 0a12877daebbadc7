import { TokenScanner } from './token-scanner.js';
import type { StructureWalker } from './walker.js';

/** Cross-reference sections remembered at most: one per revision in real files, so far more. */
export const MAX_CROSS_REFERENCE_SECTIONS = 4096;

const XREF = Buffer.from('xref', 'latin1');
const OBJ = Buffer.from('obj', 'latin1');
const XREF_TYPE = Buffer.from('/XRef', 'latin1');
/** Bytes before `obj` that its check looks at: "<number> <generation> ". */
const LOOK_BEHIND = 40;
/** The longest token plus the byte after it. */
const LOOK_AHEAD = XREF_TYPE.length + 1;
/** The end of a PDF: startxref, the offset of the last cross-reference section, %%EOF. */
const TRAILER = /startxref[\t\n\f\r ]+(\d{1,15})[\t\n\f\r ]+$/;

const isWhite = (byte: number | undefined): boolean =>
  byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09 || byte === 0x0c || byte === 0x00;
/** Whitespace, a delimiter, or nothing (the start or end of what is known). */
const endsToken = (byte: number | undefined): boolean =>
  byte === undefined || isWhite(byte) || '()<>[]{}/%'.includes(String.fromCharCode(byte));
const isDigit = (byte: number | undefined): boolean => byte !== undefined && byte >= 0x30 && byte <= 0x39;

/**
 * Checks a PDF's cross-reference chain where it starts: the file must end with `startxref`, an
 * offset and `%%EOF` (then only line breaks and spaces), and that offset must be where a
 * cross-reference section begins: an `xref` table, or an object whose dictionary is
 * `/Type /XRef` (a cross-reference stream). One pass, constant memory: as the bytes stream past,
 * it remembers where every `xref` keyword and every cross-reference stream object starts (at most
 * MAX_CROSS_REFERENCE_SECTIONS), then compares the offset at the end. It does not follow `/Prev`
 * to earlier revisions, nor parse the objects.
 */
export class PdfWalker implements StructureWalker {
  readonly format = 'pdf';
  private readonly sections = new Set<number>();
  private tooManySections = false;
  /** Where the last "<number> <generation> obj" header seen starts. */
  private lastObjectAt = -1;
  private readonly scanner = new TokenScanner(
    [XREF, OBJ, XREF_TYPE],
    LOOK_AHEAD,
    LOOK_BEHIND,
    (token, at) => {
      if (token === 0) this.onXref(at);
      else if (token === 1) this.onObj(at);
      else this.onXrefType(at);
    },
  );

  push(chunk: Buffer): void {
    this.scanner.push(chunk);
  }

  finish(tail: Buffer, size: number): string | undefined {
    this.scanner.finish();
    const eof = tail.lastIndexOf('%%EOF');
    if (eof < 0) return 'The PDF is truncated: it has no %%EOF trailer.';
    if (!/^[\t\n\f\r ]*$/.test(tail.subarray(eof + 5).toString('latin1'))) {
      return 'The PDF has data after its %%EOF trailer.';
    }
    const before = Math.max(0, eof - 128);
    const trailer = TRAILER.exec(tail.subarray(before, eof).toString('latin1'));
    if (trailer === null) return 'The PDF has no startxref offset before its %%EOF trailer.';
    const offset = Number(trailer[1]);
    const startxrefAt = size - tail.length + before + trailer.index;
    if (offset >= startxrefAt || !this.sections.has(offset)) {
      return this.tooManySections
        ? `The PDF has more than ${MAX_CROSS_REFERENCE_SECTIONS} cross-reference sections.`
        : 'The PDF is damaged: its startxref offset does not point at a cross-reference section.';
    }
    return undefined;
  }

  /** `xref` alone on its line (not the end of `startxref`): a cross-reference table. */
  private onXref(at: number): void {
    const byteAt = (offset: number) => this.scanner.byteAt(offset);
    if (isWhite(byteAt(at - 1)) && endsToken(byteAt(at + XREF.length))) this.remember(at);
  }

  /** `obj` after "<number> <generation> ": an object starts at its number. */
  private onObj(at: number): void {
    const byteAt = (offset: number) => this.scanner.byteAt(offset);
    if (!endsToken(byteAt(at + OBJ.length))) return;
    let before = at - 1;
    const skip = (test: (byte: number | undefined) => boolean, most: number): number => {
      let count = 0;
      while (count < most && before > at - LOOK_BEHIND && test(byteAt(before))) {
        before--;
        count++;
      }
      return count;
    };
    if (skip(isWhite, 8) === 0 || skip(isDigit, 5) === 0 || skip(isWhite, 8) === 0) return;
    if (skip(isDigit, 10) === 0 || !endsToken(byteAt(before))) return;
    this.lastObjectAt = before + 1;
  }

  /** The name `/XRef` (not `/XRefStm`): the object it is in is a cross-reference stream. */
  private onXrefType(at: number): void {
    if (this.lastObjectAt >= 0 && endsToken(this.scanner.byteAt(at + XREF_TYPE.length))) {
      this.remember(this.lastObjectAt);
    }
  }

  private remember(offset: number): void {
    if (this.sections.has(offset)) return;
    if (this.sections.size < MAX_CROSS_REFERENCE_SECTIONS) this.sections.add(offset);
    else this.tooManySections = true;
  }
}
