import type { StructureWalker } from './walker.js';

const START_OF_IMAGE = 0xd8;
const END_OF_IMAGE = 0xd9;
const START_OF_SCAN = 0xda;
const TEMPORARY = 0x01;
const isRestart = (code: number): boolean => code >= 0xd0 && code <= 0xd7;

type State = 'start' | 'marker' | 'code' | 'length' | 'segment' | 'scan' | 'scanMarker' | 'done';

/**
 * Walks a JPEG segment by segment: SOI, then marker segments (each with its length), and after
 * each start-of-scan the entropy-coded data up to the next marker (FF 00 stuffing and restart
 * markers belong to the data), until EOI. There must be image data (a scan) before EOI, no stray
 * bytes between segments, and nothing after EOI: a second image or any other data appended to a
 * JPEG ends the walk with a problem.
 */
export class JpegWalker implements StructureWalker {
  readonly format = 'jpeg';
  private problem: string | undefined;
  private state: State = 'start';
  private readonly field = Buffer.alloc(2);
  private fieldLength = 0;
  private segmentCode = 0;
  private segmentLeft = 0;
  private sawScan = false;

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.problem === undefined) {
      switch (this.state) {
        case 'start':
          at = this.gather(chunk, at);
          if (this.fieldLength === 2) {
            if (this.field[0] !== 0xff || this.field[1] !== START_OF_IMAGE) {
              this.problem = 'The JPEG does not start with a start-of-image marker.';
            }
            this.state = 'marker';
          }
          break;
        case 'marker':
          if (chunk[at++] !== 0xff) this.problem = 'The JPEG has stray bytes between its segments.';
          else this.state = 'code';
          break;
        case 'code':
          this.onMarker(chunk[at++] ?? 0);
          break;
        case 'length':
          at = this.gather(chunk, at);
          if (this.fieldLength === 2) this.startSegment(this.field.readUInt16BE(0));
          break;
        case 'segment': {
          const take = Math.min(this.segmentLeft, chunk.length - at);
          this.segmentLeft -= take;
          at += take;
          if (this.segmentLeft === 0) this.endSegment();
          break;
        }
        case 'scan': {
          // Entropy-coded data: only an FF byte can start something else.
          const ff = chunk.indexOf(0xff, at);
          at = ff < 0 ? chunk.length : ff + 1;
          if (ff >= 0) this.state = 'scanMarker';
          break;
        }
        case 'scanMarker': {
          const code = chunk[at++] ?? 0;
          if (code === 0x00 || isRestart(code)) this.state = 'scan';
          else this.onMarker(code);
          break;
        }
        case 'done':
          this.problem = 'The JPEG has data after its end-of-image marker.';
          break;
      }
    }
  }

  finish(): string | undefined {
    if (this.problem !== undefined) return this.problem;
    return this.state === 'done'
      ? undefined
      : 'The JPEG is truncated: it ends before its end-of-image marker.';
  }

  private gather(chunk: Buffer, at: number): number {
    const copied = chunk.copy(this.field, this.fieldLength, at, at + 2 - this.fieldLength);
    this.fieldLength += copied;
    return at + copied;
  }

  /** The byte after an FF: a fill byte, a marker without a length, or a segment's marker. */
  private onMarker(code: number): void {
    if (code === 0xff) {
      this.state = this.state === 'scanMarker' ? 'scanMarker' : 'code';
    } else if (code === END_OF_IMAGE) {
      if (this.sawScan) this.state = 'done';
      else this.problem = 'The JPEG has no image data before its end-of-image marker.';
    } else if (code === TEMPORARY) {
      this.state = 'marker';
    } else if (code === 0x00 || code === START_OF_IMAGE || isRestart(code)) {
      this.problem = `The JPEG has a misplaced marker (FF ${code.toString(16).toUpperCase().padStart(2, '0')}).`;
    } else {
      this.segmentCode = code;
      this.fieldLength = 0;
      this.state = 'length';
    }
  }

  private startSegment(length: number): void {
    if (length < 2) {
      this.problem = 'The JPEG has a segment with an impossible length.';
      return;
    }
    this.segmentLeft = length - 2;
    if (this.segmentLeft === 0) this.endSegment();
    else this.state = 'segment';
  }

  private endSegment(): void {
    if (this.segmentCode === START_OF_SCAN) {
      this.sawScan = true;
      this.state = 'scan';
    } else {
      this.state = 'marker';
    }
  }
}
