import { FindingLog, type ActiveContentCheck, type ActiveContentReport } from './checks.js';
import { InflateBudget, Inflater } from './inflater.js';
import {
  isWhite,
  isZlibHeader,
  MAX_NAME_BYTES,
  nameAt,
  objectHeaderAt,
  ObjectKinds,
  skipWhiteAndComments,
} from './pdf-syntax.js';
import type { ActiveContentScanner } from './scanner.js';

/** Inflated bytes of one PDF's compressed streams, all together: beyond it, it is not checked. */
export const MAX_PDF_INFLATED_BYTES = 1024 ** 3;

/** Names that are active content wherever they stand (as a key or as a value). */
const NAME_CHECKS: Readonly<Record<string, ActiveContentCheck>> = {
  JS: 'pdf.javascript',
  JavaScript: 'pdf.javascript',
  Launch: 'pdf.launch',
  AA: 'pdf.additional-actions',
  EmbeddedFile: 'pdf.embedded-file',
  EmbeddedFiles: 'pdf.embedded-file',
  EF: 'pdf.embedded-file',
  FileAttachment: 'pdf.embedded-file',
  XFA: 'pdf.xfa',
  RichMedia: 'pdf.rich-media',
};
/** Names that say the PDF keeps objects in compressed object streams (which need a cross-reference stream). */
const OBJECT_STREAM_NAMES = new Set(['ObjStm', 'XRef', 'XRefStm']);
/** Filters the scan does not undo: an object stream encoded with one could hide any object. */
const UNDECODED_FILTERS = new Set([
  'ASCIIHexDecode',
  'AHx',
  'ASCII85Decode',
  'A85',
  'LZWDecode',
  'LZW',
  'RunLengthDecode',
  'RL',
]);
/** First bytes (after `/`) of every name above: the others are passed over at once. */
const FIRST_BYTES = new Uint8Array(256);
for (const name of [
  ...Object.keys(NAME_CHECKS),
  ...OBJECT_STREAM_NAMES,
  ...UNDECODED_FILTERS,
  'OpenAction',
  'Encrypt',
  '#',
]) {
  FIRST_BYTES[name.charCodeAt(0)] = 1;
}

const SLASH = 0x2f;
const OBJ = Buffer.from('obj', 'latin1');
const STREAM = Buffer.from('stream', 'latin1');
const ENDSTREAM = Buffer.from('endstream', 'latin1');
/**
 * Inside a stream's data (images, fonts, compressed bytes) only names this long count: random
 * bytes spell `/AA ` about once in 270 MiB, `/Launch ` about never. The short names (/JS, /AA,
 * /EF) count in the file's syntax and in inflated object streams.
 */
const MIN_NAME_IN_DATA = 4;
/** Bytes after a token that must have arrived before it is looked at: a name and what follows it. */
const LOOK_AHEAD = MAX_NAME_BYTES + 112;
/** Bytes before `obj` that its header check looks at: "<number> <generation> ". */
const LOOK_BEHIND = 48;
/** /OpenAction references remembered at most (one per catalog, so one per revision). */
const MAX_OPEN_ACTION_TARGETS = 64;
const EMPTY = Buffer.alloc(0);

/**
 * Finds a PDF's active content in one pass, in constant memory: the names of the checks
 * (`/JS`, `/JavaScript`, `/Launch`, `/AA`, `/EmbeddedFile(s)`, `/EF`, `/FileAttachment`, `/XFA`,
 * `/RichMedia`, and `/OpenAction` unless it is a destination), written plainly or with `#xx`
 * escapes, across chunk boundaries, in the file's syntax and in every zlib (FlateDecode) stream
 * whose inflated bytes read as PDF syntax (an object stream starts with integers), inflated as
 * the bytes stream past, within MAX_PDF_INFLATED_BYTES. A stream's data runs from `stream` to
 * `endstream`, or to an object header inside it (where a reader sent there by the
 * cross-reference would read an object): in it, only long names count.
 */
export class PdfActiveContentScanner implements ActiveContentScanner {
  private readonly log = new FindingLog();
  private readonly budget: InflateBudget;
  private readonly objects = new ObjectKinds();
  private readonly openActionTargets: Array<{ number: number; where: string }> = [];
  /** The last bytes before the next chunk: not yet scanned (at most LOOK_AHEAD) and LOOK_BEHIND more. */
  private keep: Buffer = EMPTY;
  private pushed = 0;
  /** Where scanning the file's own bytes goes on. */
  private next = 0;
  /** The object whose header came last. */
  private object: number | undefined;
  /** Inside a stream's data: its inflater (zlib data read as syntax so far), and the names in what it inflates. */
  private stream: { inflater: Inflater | undefined; names: DecodedNames } | undefined;
  private usesObjectStreams = false;
  private encrypted = false;
  private undecodedFilter: string | undefined;

  constructor(private readonly maxInflatedBytes = MAX_PDF_INFLATED_BYTES) {
    this.budget = new InflateBudget(maxInflatedBytes);
  }

  async push(chunk: Buffer): Promise<void> {
    await this.process(chunk, false);
  }

  async finish(): Promise<ActiveContentReport> {
    await this.process(EMPTY, true);
    if (this.stream !== undefined) await this.endStream();
    for (const target of this.openActionTargets) {
      if (!this.objects.onlyArrays(target.number)) {
        this.log.add(
          'pdf.open-action',
          `/OpenAction ${target.where}, to object ${target.number}, not a destination`,
        );
      }
    }
    if (this.usesObjectStreams && this.encrypted) {
      this.log.cannotCheck('it is encrypted, so the objects in its object streams cannot be read');
    } else if (this.usesObjectStreams && this.undecodedFilter !== undefined) {
      this.log.cannotCheck(
        `it has object streams, and streams encoded with /${this.undecodedFilter}, which the check does not decode`,
      );
    }
    return this.log.report('pdf');
  }

  abort(): void {
    this.stream?.inflater?.abort();
    this.stream = undefined;
  }

  private async process(chunk: Buffer, final: boolean): Promise<void> {
    const window = this.keep.length === 0 ? chunk : Buffer.concat([this.keep, chunk]);
    const base = this.pushed - this.keep.length;
    this.pushed += chunk.length;
    let at = Math.max(0, this.next - base);
    while (at < window.length) {
      if (this.stream !== undefined) {
        const { end, resume } = this.scanData(window, at, final);
        const { inflater, names } = this.stream;
        if (inflater !== undefined && end > at) {
          await inflater.write(window.subarray(at, end));
          // Not an object stream: no need to inflate the rest.
          if (!names.readsSyntax) inflater.abort();
        }
        at = end;
        if (resume === undefined) break;
        await this.endStream();
        at = resume;
      } else {
        at = this.scan(window, base, at, final);
        if (this.stream === undefined) break;
      }
    }
    this.next = base + at;
    this.keep = Buffer.from(window.subarray(Math.max(0, Math.min(at, window.length) - LOOK_BEHIND)));
  }

  private async endStream(): Promise<void> {
    const stream = this.stream;
    if (stream === undefined) return;
    this.stream = undefined;
    const { inflater, names } = stream;
    if (inflater !== undefined && !inflater.stopped && names.readsSyntax) await inflater.finish();
    inflater?.abort();
    names.finish();
    if (inflater?.overBudget === true) {
      this.log.cannotCheck(`its compressed streams inflate to more than ${this.maxInflatedBytes} bytes`);
    }
  }

  /**
   * Looks at the tokens starting in `window[from, …)` whose look-ahead has arrived (all of them
   * at the end of the file), in order. Returns where it stopped: there, or where the data of a
   * zlib stream begins (then `this.stream` inflates it).
   */
  private scan(window: Buffer, base: number, from: number, final: boolean): number {
    const limit = final ? window.length : window.length - LOOK_AHEAD;
    if (from >= limit) return from;
    const find = (token: Buffer | number, after: number): number => {
      const found = window.indexOf(token, after);
      return found < 0 || found >= limit ? Infinity : found;
    };
    let slash = find(SLASH, from);
    let obj = find(OBJ, from);
    let stream = find(STREAM, from);
    for (;;) {
      const first = Math.min(slash, obj, stream);
      if (first === Infinity) return limit;
      if (first === slash) {
        this.onName(window, slash, final);
        slash = find(SLASH, slash + 1);
      } else if (first === obj) {
        this.onObj(window, obj);
        obj = find(OBJ, obj + OBJ.length);
      } else {
        const dataAt = this.onStream(window, stream);
        if (dataAt !== undefined) return dataAt;
        stream = find(STREAM, stream + STREAM.length);
      }
    }
  }

  /**
   * A stream's data in `window[from, …)`: long names count, and it ends at `endstream` or an
   * object header. Returns how far the data goes in the window, and where the syntax resumes
   * (undefined while the data goes on).
   */
  private scanData(window: Buffer, from: number, final: boolean): { end: number; resume?: number } {
    const limit = final ? window.length : Math.max(from, window.length - LOOK_AHEAD);
    const find = (token: Buffer | number, after: number): number => {
      const found = window.indexOf(token, after);
      return found < 0 || found >= limit ? Infinity : found;
    };
    for (let slash = find(SLASH, from); slash !== Infinity; slash = find(SLASH, slash + 1)) {
      if (FIRST_BYTES[window[slash + 1] ?? 0] !== 1) continue;
      const found = nameAt(window, slash, final);
      if (found !== undefined && found.name.length >= MIN_NAME_IN_DATA) {
        this.onFoundName(window, found, `in the data of a stream of object ${this.object ?? '?'}`);
      }
    }
    const end = find(ENDSTREAM, from);
    let header = find(OBJ, from);
    while (header < end && objectHeaderAt(window, header) === undefined)
      header = find(OBJ, header + OBJ.length);
    if (header < end) return { end: header, resume: header };
    if (end !== Infinity) return { end, resume: end + ENDSTREAM.length };
    return { end: limit };
  }

  private where(): string {
    return this.object === undefined ? 'before any object' : `in object ${this.object}`;
  }

  private onName(window: Buffer, at: number, final: boolean): void {
    if (FIRST_BYTES[window[at + 1] ?? 0] !== 1) return;
    const found = nameAt(window, at, final);
    if (found === undefined) return;
    this.onFoundName(window, found, this.where());
  }

  private onFoundName(
    window: Buffer,
    found: { name: string; raw: string; end: number },
    where: string,
  ): void {
    const { name } = found;
    if (OBJECT_STREAM_NAMES.has(name)) this.usesObjectStreams = true;
    else if (name === 'Encrypt') this.encrypted = true;
    else if (UNDECODED_FILTERS.has(name)) this.undecodedFilter ??= name;
    else noteName(this, window, found, where);
  }

  /** An object header, "<number> <generation> obj": what the object is (an array or not). */
  private onObj(window: Buffer, at: number): void {
    const number = objectHeaderAt(window, at);
    if (number === undefined) return;
    this.object = number;
    const first = skipWhiteAndComments(window, at + OBJ.length);
    this.objects.record(number, window[first] === 0x5b);
  }

  /**
   * The `stream` keyword after a dictionary (`>>`) and before an end of line: the data starts.
   * When it is zlib data, it is inflated, and read as syntax if it looks like an object stream.
   */
  private onStream(window: Buffer, at: number): number | undefined {
    let before = at - 1;
    while (isWhite(window[before])) before--;
    if (window[before] !== 0x3e || window[before - 1] !== 0x3e) return undefined;
    let dataAt = at + STREAM.length;
    if (window[dataAt] === 0x0d) dataAt++;
    if (window[dataAt] === 0x0a) dataAt++;
    if (dataAt === at + STREAM.length) return undefined;
    const names = new DecodedNames(this, `in the compressed stream of object ${this.object ?? '?'}`);
    const inflater = isZlibHeader(window[dataAt], window[dataAt + 1])
      ? new Inflater('zlib', this.budget, (bytes) => names.push(bytes))
      : undefined;
    this.stream = { inflater, names };
    return dataAt;
  }

  /** A name of a check was found (`where`: in which object or stream). */
  found(check: ActiveContentCheck, construct: string): void {
    this.log.add(check, construct);
  }

  /** /OpenAction refers to object `number`: a destination only if that object is an array. */
  openActionTarget(number: number, where: string): void {
    if (this.openActionTargets.length < MAX_OPEN_ACTION_TARGETS)
      this.openActionTargets.push({ number, where });
    else this.found('pdf.open-action', `/OpenAction ${where}`);
  }
}

/**
 * What a found name means: a check's name is a finding; /OpenAction is one unless a
 * destination follows (an array, in place or in the object it refers to).
 */
function noteName(
  scanner: PdfActiveContentScanner,
  bytes: Buffer,
  found: { name: string; raw: string; end: number },
  where: string,
): void {
  const spelled = found.raw === found.name ? `/${found.name}` : `/${found.name} (written /${found.raw})`;
  const check = Object.hasOwn(NAME_CHECKS, found.name) ? NAME_CHECKS[found.name] : undefined;
  if (check !== undefined) {
    scanner.found(check, `${spelled} ${where}`);
    return;
  }
  if (found.name !== 'OpenAction') return;
  const valueAt = skipWhiteAndComments(bytes, found.end);
  if (bytes[valueAt] === 0x5b) return; // [page /View …]: a destination, not an action
  const reference = /^(\d{1,10})[\0\t\n\f\r ]+\d{1,5}[\0\t\n\f\r ]+R(?![^\0\t\n\f\r ()<>[\]{}/%])/.exec(
    bytes.toString('latin1', valueAt, valueAt + 40),
  );
  if (reference !== null) scanner.openActionTarget(Number(reference[1]), where);
  else scanner.found('pdf.open-action', `${spelled} ${where}, with an action`);
}

/** Inflated bytes looked at, at most, to tell PDF syntax (an object stream) from other data. */
const SYNTAX_SNIFF_BYTES = 1024;
/** An object stream starts with its first pair of integers (after whitespace and comments, as readers lex it). */
const OBJECT_STREAM_START =
  /^(?:[\0\t\n\f\r ]|%[^\r\n]*[\r\n])*[+-]?\d+(?:[\0\t\n\f\r ]|%[^\r\n]*[\r\n])+[+-]?\d+[\0\t\n\f\r %]/;
const UNDECIDED =
  /^(?:[\0\t\n\f\r ]|%[^\r\n]*[\r\n])*(?:%[^\r\n]*|[+-]?\d*(?:(?:[\0\t\n\f\r ]|%[^\r\n]*[\r\n])+(?:[+-]?\d*|%[^\r\n]*))?)$/;

/**
 * The names in a stream's inflated bytes, across the pieces zlib hands over, when those bytes
 * read as PDF syntax: an object stream (which holds dictionaries) starts with integers. Images,
 * fonts and content streams are not read (nor inflated further): their names are not objects'.
 */
class DecodedNames {
  private keep: Buffer = EMPTY;
  private start: Buffer | undefined = EMPTY;
  /** Still inflating for names: syntax, or not yet told. */
  readsSyntax = true;

  constructor(
    private readonly scanner: PdfActiveContentScanner,
    private readonly where: string,
  ) {}

  /** Returns false once the bytes are known not to be syntax: no need to inflate more. */
  push(bytes: Buffer): boolean {
    this.take(bytes);
    return this.readsSyntax;
  }

  private take(bytes: Buffer): void {
    if (!this.readsSyntax) return;
    if (this.start !== undefined) {
      this.start = Buffer.concat([this.start, bytes]);
      const text = this.start.toString('latin1', 0, SYNTAX_SNIFF_BYTES);
      if (!OBJECT_STREAM_START.test(text)) {
        // Undecided only while a prefix of an object stream's start, within the sniffed bytes.
        if (this.start.length >= SYNTAX_SNIFF_BYTES || !UNDECIDED.test(text)) {
          this.readsSyntax = this.start.length >= SYNTAX_SNIFF_BYTES && UNDECIDED.test(text);
          if (!this.readsSyntax) return;
        } else {
          return;
        }
      }
      bytes = this.start;
      this.start = undefined;
    }
    this.scan(bytes, false);
  }

  finish(): void {
    if (!this.readsSyntax) return;
    if (this.start !== undefined) {
      const text = this.start.toString('latin1');
      if (!OBJECT_STREAM_START.test(text)) return;
      this.scan(this.start, false);
    }
    this.scan(EMPTY, true);
  }

  private scan(bytes: Buffer, final: boolean): void {
    const window = this.keep.length === 0 ? bytes : Buffer.concat([this.keep, bytes]);
    const limit = final ? window.length : window.length - LOOK_AHEAD;
    for (
      let slash = window.indexOf(SLASH);
      slash >= 0 && slash < limit;
      slash = window.indexOf(SLASH, slash + 1)
    ) {
      if (FIRST_BYTES[window[slash + 1] ?? 0] !== 1) continue;
      const found = nameAt(window, slash, final);
      if (found !== undefined) noteName(this.scanner, window, found, this.where);
    }
    // Names starting in the last LOOK_AHEAD bytes wait for the bytes after them.
    this.keep = final ? EMPTY : Buffer.from(window.subarray(Math.max(0, limit)));
  }
}
