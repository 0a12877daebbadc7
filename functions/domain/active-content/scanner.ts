import type { ActiveContentFormat, ActiveContentReport } from './checks.js';
import { PdfActiveContentScanner } from './pdf.js';
import { OoxmlActiveContentScanner } from './ooxml.js';

/**
 * Looks for active content in one file as its bytes stream past (the same chunks the content
 * inspection reads), in constant memory. Asynchronous only because zlib inflates off the main
 * thread; it never throws on hostile bytes: what it cannot read is a finding.
 */
export interface ActiveContentScanner {
  /** The next bytes of the file, in order. */
  push(chunk: Buffer): Promise<void>;
  /** The file ended: what was found. */
  finish(): Promise<ActiveContentReport>;
  /** Reading stopped before the end: frees what the scan holds (zlib streams). */
  abort(): void;
}

const PDF_START = Buffer.from('%PDF', 'latin1');
const ZIP_START = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/**
 * The scanner for the format that `prefix` (the file's first bytes, as for the structure
 * walkers) announces: PDF, or a ZIP archive (read as an OOXML package; the verdict applies its
 * findings only to OOXML types).
 */
export function activeContentScannerFor(prefix: Buffer): ActiveContentScanner | undefined {
  const startsWith = (signature: Buffer) => prefix.subarray(0, signature.length).equals(signature);
  if (startsWith(PDF_START)) return new GuardedScanner('pdf', new PdfActiveContentScanner());
  if (startsWith(ZIP_START)) return new GuardedScanner('ooxml', new OoxmlActiveContentScanner());
  return undefined;
}

/** A scanner whose own failure on hostile bytes makes the file uncheckable, never an exception. */
class GuardedScanner implements ActiveContentScanner {
  private failed = false;

  constructor(
    private readonly format: ActiveContentFormat,
    private readonly scanner: ActiveContentScanner,
  ) {}

  async push(chunk: Buffer): Promise<void> {
    if (this.failed || chunk.length === 0) return;
    try {
      await this.scanner.push(chunk);
    } catch {
      this.fail();
    }
  }

  async finish(): Promise<ActiveContentReport> {
    if (!this.failed) {
      try {
        return await this.scanner.finish();
      } catch {
        this.fail();
      }
    }
    return { format: this.format, findings: [], uncheckable: 'the scan could not read its structure' };
  }

  abort(): void {
    try {
      this.scanner.abort();
    } catch {
      // Nothing more to free.
    }
  }

  private fail(): void {
    this.failed = true;
    this.abort();
  }
}
