import { crc32 } from 'node:zlib';
import type { StructureWalker } from './walker.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** The PNG specification's limit on a chunk's data length. */
const MAX_CHUNK_LENGTH = 0x7fffffff;

type State = 'signature' | 'header' | 'data' | 'crc' | 'done';

/**
 * Walks a PNG chunk by chunk: the signature, then length + type + data + CRC until IEND. The
 * first chunk must be a 13-byte IHDR, image data (IDAT) must come before IEND, every CRC must
 * match, and IEND must be the file's last byte: nothing may follow it, and nothing sits between
 * chunks.
 */
export class PngWalker implements StructureWalker {
  readonly format = 'png';
  private problem: string | undefined;
  private state: State = 'signature';
  /** The signature, a chunk header (length + type) or a CRC being gathered across chunks. */
  private readonly field = Buffer.alloc(8);
  private fieldLength = 0;
  private type = '';
  private dataLeft = 0;
  private crc = 0;
  private chunks = 0;
  private sawImageData = false;

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.problem === undefined) {
      switch (this.state) {
        case 'signature':
          at = this.gather(chunk, at, SIGNATURE.length);
          if (this.fieldLength === SIGNATURE.length) {
            if (!this.field.equals(SIGNATURE))
              this.problem = 'The PNG does not start with the PNG signature.';
            this.startField('header');
          }
          break;
        case 'header':
          at = this.gather(chunk, at, 8);
          if (this.fieldLength === 8) this.startChunk();
          break;
        case 'data': {
          const take = Math.min(this.dataLeft, chunk.length - at);
          this.crc = crc32(chunk.subarray(at, at + take), this.crc);
          this.dataLeft -= take;
          at += take;
          if (this.dataLeft === 0) this.startField('crc');
          break;
        }
        case 'crc':
          at = this.gather(chunk, at, 4);
          if (this.fieldLength === 4) this.endChunk();
          break;
        case 'done':
          this.problem = 'The PNG has data after its IEND chunk.';
          break;
      }
    }
  }

  finish(): string | undefined {
    if (this.problem !== undefined) return this.problem;
    return this.state === 'done' ? undefined : 'The PNG is truncated: it ends before its IEND chunk.';
  }

  /** Copies up to `length` bytes of a field from `chunk`; returns where reading stopped. */
  private gather(chunk: Buffer, at: number, length: number): number {
    const copied = chunk.copy(this.field, this.fieldLength, at, at + length - this.fieldLength);
    this.fieldLength += copied;
    return at + copied;
  }

  private startField(state: State): void {
    this.state = state;
    this.fieldLength = 0;
  }

  private startChunk(): void {
    const length = this.field.readUInt32BE(0);
    const typeBytes = this.field.subarray(4, 8);
    this.type = typeBytes.toString('latin1');
    this.chunks++;
    if (!typeBytes.every((byte) => (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a))) {
      this.problem = 'The PNG has a chunk whose type is not four letters.';
    } else if (length > MAX_CHUNK_LENGTH) {
      this.problem = `The PNG has a ${this.type} chunk longer than the format allows.`;
    } else if (this.chunks === 1 && (this.type !== 'IHDR' || length !== 13)) {
      this.problem = 'The PNG does not start with its 13-byte IHDR chunk.';
    } else if (this.type === 'IEND' && length !== 0) {
      this.problem = 'The PNG has an IEND chunk with data in it.';
    }
    this.crc = crc32(typeBytes);
    this.dataLeft = length;
    this.startField(length > 0 ? 'data' : 'crc');
  }

  private endChunk(): void {
    if (this.field.readUInt32BE(0) !== this.crc) {
      this.problem = `The PNG has a ${this.type} chunk whose CRC is wrong.`;
      return;
    }
    if (this.type === 'IDAT') this.sawImageData = true;
    if (this.type !== 'IEND') {
      this.startField('header');
    } else if (!this.sawImageData) {
      this.problem = 'The PNG has no image data (IDAT) before its IEND chunk.';
    } else {
      this.state = 'done';
    }
  }
}
