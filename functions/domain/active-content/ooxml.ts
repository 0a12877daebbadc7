import { FindingLog, printable, type ActiveContentReport } from './checks.js';
import { InflateBudget, Inflater } from './inflater.js';
import {
  contentTypeFlags,
  isContentTypesPart,
  isRelationshipsPart,
  partNameFlags,
  relationshipFlags,
  type Flag,
} from './ooxml-rules.js';
import type { ActiveContentScanner } from './scanner.js';
import { XmlElementScanner, type XmlElement } from './xml-elements.js';

/** Entries of one archive remembered at most (the classic ZIP limit). */
export const MAX_ZIP_ENTRIES = 65_535;
/**
 * Inflated bytes of one archive, all together: the .rels and [Content_Types].xml parts, and the
 * entries whose size only their end tells (a data descriptor follows them), which are inflated
 * to find that end. Beyond it, the package is not checked.
 */
export const MAX_OOXML_INFLATED_BYTES = 2 * 1024 ** 3;

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const DATA_DESCRIPTOR = 0x08074b50;
const END_RECORDS = new Set([0x06054b50, 0x06064b50, 0x07064b50]);
const UNKNOWN = 0xffffffff;
/** The compression methods OOXML allows (ECMA-376 Part 2, Annex C): stored and deflated. */
const STORED = 0;
const DEFLATED = 8;
const METHOD_NAMES: Readonly<Record<number, string>> = {
  9: 'Deflate64',
  12: 'BZIP2',
  14: 'LZMA',
  93: 'Zstandard',
  95: 'XZ',
  98: 'PPMd',
};

type State =
  'signature' | 'local' | 'localNames' | 'data' | 'descriptor' | 'central' | 'centralNames' | 'done';

interface Entry {
  offset: number;
  name: string;
  rawName: string;
  method: number;
  flags: number;
  zip64: boolean;
  /** Compressed size, once known (from the header, or measured for an entry with a data descriptor). */
  size: number | undefined;
}

/**
 * Walks an OOXML package (a ZIP) as its bytes stream past, entry by entry from its local
 * headers, in constant memory: names every part (vbaProject.bin, activeX/, embeddings/…),
 * inflates and reads every .rels part (relationship types, external targets) and
 * [Content_Types].xml, and skips the rest by its size, or inflates it to find its end when a
 * data descriptor follows it. Then it reads the central directory, whose every entry must be one
 * the walk saw at that offset (same name, method and size): a part that only the directory
 * reaches (hidden inside another entry) would be one the walk never read. Compression other than
 * stored or deflated, and encryption, are package problems: OOXML allows neither.
 */
export class OoxmlActiveContentScanner implements ActiveContentScanner {
  private readonly log = new FindingLog();
  private readonly budget: InflateBudget;
  /** Local entries by offset: the key the central directory must match. */
  private readonly entries = new Map<number, string>();
  private state: State = 'signature';
  private field = Buffer.alloc(46);
  private fieldLength = 0;
  private fieldNeeded = 4;
  /** Where the header being read starts in the file. */
  private headerAt = 0;
  private position = 0;
  private header = Buffer.alloc(0);
  private entry: Entry | undefined;
  private dataLeft = 0;
  private inflater: Inflater | undefined;
  private xml: XmlElementScanner | undefined;

  constructor(private readonly maxInflatedBytes = MAX_OOXML_INFLATED_BYTES) {
    this.budget = new InflateBudget(maxInflatedBytes);
  }

  async push(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length && this.state !== 'done') {
      const from = at;
      if (this.state === 'data') {
        at = await this.data(chunk, at);
      } else {
        if (this.state === 'signature' && this.fieldLength === 0) this.headerAt = this.position;
        const copied = chunk.copy(this.field, this.fieldLength, at, at + this.fieldNeeded - this.fieldLength);
        this.fieldLength += copied;
        at += copied;
        if (this.fieldLength === this.fieldNeeded) {
          this.position += at - from;
          this.onField();
          continue;
        }
      }
      this.position += at - from;
    }
  }

  async finish(): Promise<ActiveContentReport> {
    if (this.state === 'data' && this.dataLeft === 0) await this.endData();
    // A file that ends inside an entry is a truncated archive: the structure walk refuses it.
    this.abort();
    return this.log.report('ooxml');
  }

  abort(): void {
    this.inflater?.abort();
    this.inflater = undefined;
  }

  private expect(state: State, bytes: number): void {
    this.state = state;
    this.fieldLength = 0;
    this.fieldNeeded = bytes;
    if (this.field.length < bytes) this.field = Buffer.alloc(bytes);
  }

  private stop(why: string): void {
    this.log.cannotCheck(why);
    this.abort();
    this.state = 'done';
  }

  private flag(flags: Flag[]): void {
    for (const { check, construct } of flags) this.log.add(check, construct);
  }

  /** A header field arrived whole. */
  private onField(): void {
    const field = this.field;
    switch (this.state) {
      case 'signature': {
        const signature = field.readUInt32LE(0);
        if (signature === LOCAL_HEADER) this.expect('local', 26);
        else if (signature === CENTRAL_HEADER) this.expect('central', 42);
        else if (END_RECORDS.has(signature)) this.state = 'done';
        else this.stop(`it has bytes at offset ${this.headerAt} that start no ZIP header`);
        break;
      }
      case 'local':
        this.header = Buffer.from(field.subarray(0, 26));
        this.expect('localNames', field.readUInt16LE(22) + field.readUInt16LE(24));
        if (this.fieldNeeded === 0) this.onField();
        break;
      case 'localNames':
        this.onLocalHeader(this.header, field.subarray(0, this.fieldNeeded));
        break;
      case 'descriptor':
        this.onDescriptor();
        break;
      case 'central':
        this.header = Buffer.from(field.subarray(0, 42));
        this.expect('centralNames', field.readUInt16LE(24) + field.readUInt16LE(26) + field.readUInt16LE(28));
        if (this.fieldNeeded === 0) this.onField();
        break;
      case 'centralNames':
        this.onCentralHeader(this.header, field.subarray(0, this.fieldNeeded));
        if ((this.state as State) !== 'done') this.expect('signature', 4);
        break;
      default:
        break;
    }
  }

  private onLocalHeader(header: Buffer, names: Buffer): void {
    const flags = header.readUInt16LE(2);
    const method = header.readUInt16LE(4);
    const nameLength = header.readUInt16LE(22);
    const rawName = names.toString('latin1', 0, nameLength);
    const name = flags & 0x800 ? names.toString('utf8', 0, nameLength) : rawName;
    const extra = names.subarray(nameLength);
    let size: number | undefined = header.readUInt32LE(14);
    const zip64 = zip64Field(extra) !== undefined;
    if (size === UNKNOWN || header.readUInt32LE(18) === UNKNOWN) {
      // ZIP64: the local extra field holds both sizes, uncompressed first.
      const sizes = zip64Field(extra);
      size = sizes !== undefined && sizes.length >= 16 ? Number(sizes.readBigUInt64LE(8)) : undefined;
      if (size === undefined) return this.stop(`its entry ${printable(name)} has no ZIP64 sizes`);
    }
    // With a data descriptor the header's sizes are zero (a stored entry's may be there anyway);
    // a deflated entry's end is where its deflate stream ends.
    const descriptor = (flags & 0x08) !== 0;
    const known = !descriptor || (method === STORED && size > 0) ? size : undefined;
    const entry: Entry = { offset: this.headerAt, name, rawName, method, flags, zip64, size: known };
    this.entry = entry;
    this.checkEntry(entry);
    if (this.entries.size >= MAX_ZIP_ENTRIES) return this.stop(`it has more than ${MAX_ZIP_ENTRIES} entries`);
    if (known === undefined && method !== DEFLATED) {
      return this.stop(
        `its entry ${printable(name)} is not deflated, and only a data descriptor after it says where it ends`,
      );
    }
    const xml = isRelationshipsPart(name) || isContentTypesPart(name);
    const readable = method === DEFLATED || method === STORED;
    if (xml && !readable) this.log.cannotCheck(`its part ${printable(name)} cannot be read`);
    this.xml = xml && readable ? this.xmlScanner(name) : undefined;
    this.inflater =
      method === DEFLATED && (known === undefined || this.xml !== undefined)
        ? new Inflater('raw', this.budget, (bytes) => this.xml?.push(bytes))
        : undefined;
    this.dataLeft = known ?? Infinity;
    this.state = 'data';
  }

  private checkEntry(entry: { name: string; method: number; flags: number }, central = false): void {
    const name = printable(entry.name);
    if (entry.method !== STORED && entry.method !== DEFLATED) {
      const method = METHOD_NAMES[entry.method];
      this.log.packageProblem ??= `its entry ${name} is compressed with method ${entry.method}${method ? ` (${method})` : ''}; OOXML allows only stored and deflated entries`;
    }
    if (entry.flags & 0x01)
      this.log.packageProblem ??= `its entry ${name} is encrypted, which OOXML does not allow`;
    // A central entry is the local one it matches (or the archive is refused): its name counts once.
    if (!central) this.flag(partNameFlags(entry.name));
  }

  private xmlScanner(part: string): XmlElementScanner {
    const contentTypes = isContentTypesPart(part);
    return new XmlElementScanner(
      (element) => this.onXmlElement(part, contentTypes, element),
      (why) => this.log.cannotCheck(`its part ${printable(part)} ${why}`),
    );
  }

  private onXmlElement(part: string, contentTypes: boolean, { name, attributes }: XmlElement): void {
    const values = (attribute: string) =>
      attributes.filter(([key]) => key === attribute).map(([, value]) => value);
    if (contentTypes && (name === 'Default' || name === 'Override')) {
      const what = name === 'Default' ? `extension ${values('Extension').join()}` : values('PartName').join();
      for (const type of values('ContentType')) this.flag(contentTypeFlags(type, printable(what, 80)));
    } else if (!contentTypes && name === 'Relationship') {
      const relationship = {
        type: values('Type').join(' '),
        target: values('Target').join(' '),
        targetModes: values('TargetMode'),
      };
      this.flag(relationshipFlags(printable(part, 80), relationship));
    }
  }

  /** The entry's data: skipped by its size, fed to the XML scanner, or inflated to find its end. */
  private async data(chunk: Buffer, at: number): Promise<number> {
    const piece = chunk.subarray(at, at + Math.min(this.dataLeft, chunk.length - at));
    let taken = piece.length;
    if (this.inflater !== undefined) {
      const consumed = await this.inflater.write(piece);
      if (this.dataLeft === Infinity) taken = consumed;
    } else {
      this.xml?.push(piece);
    }
    this.dataLeft -= taken;
    const inflaterDone = this.inflater?.stopped === true;
    if (this.dataLeft === 0 || (this.dataLeft === Infinity && inflaterDone)) await this.endData();
    return at + taken;
  }

  private async endData(): Promise<void> {
    const entry = this.entry;
    const inflater = this.inflater;
    this.inflater = undefined;
    if (inflater !== undefined) {
      if (!inflater.stopped) await inflater.finish();
      if (inflater.overBudget)
        return this.stop(`its parts inflate to more than ${this.maxInflatedBytes} bytes`);
      if (!inflater.ended) {
        const name = printable(entry?.name ?? '');
        if (entry?.size === undefined)
          return this.stop(`its entry ${name} could not be inflated to find its end`);
        this.log.cannotCheck(`its part ${name} could not be inflated`);
      }
      if (entry !== undefined && entry.size === undefined) entry.size = inflater.consumed;
    }
    this.xml?.finish();
    this.xml = undefined;
    if (entry !== undefined && (entry.flags & 0x08) !== 0) {
      this.expect('descriptor', 4);
    } else {
      this.remember(entry);
      this.expect('signature', 4);
    }
  }

  /** After an entry's data: its descriptor, with or without its signature, then the next header. */
  private onDescriptor(): void {
    const sizes = this.entry?.zip64 ? 16 : 8;
    if (this.fieldNeeded === 4) {
      const signed = this.field.readUInt32LE(0) === DATA_DESCRIPTOR;
      // Signed: CRC-32 and the sizes follow; unsigned: that was the CRC-32.
      this.expect('descriptor', signed ? 4 + sizes : sizes);
      return;
    }
    this.remember(this.entry);
    this.expect('signature', 4);
  }

  private remember(entry: Entry | undefined): void {
    if (entry !== undefined)
      this.entries.set(entry.offset, entryKey(entry.method, entry.size ?? -1, entry.rawName));
    this.entry = undefined;
  }

  private onCentralHeader(header: Buffer, names: Buffer): void {
    const flags = header.readUInt16LE(4);
    const method = header.readUInt16LE(6);
    const nameLength = header.readUInt16LE(24);
    const rawName = names.toString('latin1', 0, nameLength);
    const name = flags & 0x800 ? names.toString('utf8', 0, nameLength) : rawName;
    const extra = names.subarray(nameLength, nameLength + header.readUInt16LE(26));
    // ZIP64: the extra field holds, in this order, the fields that say 0xFFFFFFFF.
    const zip64 = zip64Field(extra);
    let next = 0;
    const field64 = (value: number): number | undefined => {
      if (value !== UNKNOWN) return value;
      if (zip64 === undefined || zip64.length < next + 8) return undefined;
      next += 8;
      return Number(zip64.readBigUInt64LE(next - 8));
    };
    field64(header.readUInt32LE(20));
    const size = field64(header.readUInt32LE(16));
    const offset = field64(header.readUInt32LE(38));
    this.checkEntry({ name, method, flags }, true);
    if (
      size === undefined ||
      offset === undefined ||
      this.entries.get(offset) !== entryKey(method, size, rawName)
    ) {
      this.stop(
        `its central directory lists ${printable(name)} at offset ${offset ?? '?'}, which is not an entry the archive holds there`,
      );
    }
  }
}

const entryKey = (method: number, size: number, rawName: string): string => `${method}/${size}/${rawName}`;

/** The data of the ZIP64 extended information extra field (ID 0x0001), if present. */
function zip64Field(extra: Buffer): Buffer | undefined {
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === 0x0001) return extra.subarray(at + 4, Math.min(extra.length, at + 4 + length));
    at += 4 + length;
  }
  return undefined;
}
