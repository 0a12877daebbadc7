import { TextDecoder } from 'node:util';

/** Longest element (or comment, processing instruction) held while its end has not arrived. */
export const MAX_XML_CONSTRUCT_CHARS = 64 * 1024;
/** Most text one part may hold. */
export const MAX_XML_PART_BYTES = 16 * 1024 ** 2;

export interface XmlElement {
  /** The element's name without a namespace prefix (`Relationship` for `r:Relationship`). */
  name: string;
  /** Its attributes in order, values with their character and entity references resolved. */
  attributes: Array<[string, string]>;
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescape(value: string): string {
  return value.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g, (whole, ref: string) => {
    if (!ref.startsWith('#')) return ENTITIES[ref] ?? whole;
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/**
 * The start tags of a small XML part (an OOXML .rels part, [Content_Types].xml) as its bytes
 * arrive, in constant memory: UTF-8 or UTF-16 by the byte order mark, comments, CDATA sections
 * and processing instructions passed over, quotes respected (a `>` inside a value does not end
 * a tag), references resolved. A document type declaration (which could define entities) or a
 * construct longer than MAX_XML_CONSTRUCT_CHARS is a problem: the part is then not read on.
 */
export class XmlElementScanner {
  private decoder: TextDecoder | undefined;
  private start: Buffer = Buffer.alloc(0);
  private text = '';
  private bytes = 0;
  private stopped = false;

  constructor(
    private readonly onElement: (element: XmlElement) => void,
    private readonly onProblem: (why: string) => void,
  ) {}

  push(bytes: Buffer): void {
    if (this.stopped || bytes.length === 0) return;
    this.bytes += bytes.length;
    if (this.bytes > MAX_XML_PART_BYTES) return this.problem(`holds more than ${MAX_XML_PART_BYTES} bytes`);
    if (this.decoder === undefined) {
      // The byte order mark decides the encoding: wait for its two bytes.
      this.start = Buffer.concat([this.start, bytes]);
      if (this.start.length < 2) return;
      this.decoder = new TextDecoder(encodingOf(this.start));
      bytes = this.start;
      this.start = Buffer.alloc(0);
    }
    this.text += this.decoder.decode(bytes, { stream: true });
    this.drain(false);
  }

  finish(): void {
    if (this.stopped) return;
    this.decoder ??= new TextDecoder(encodingOf(this.start));
    this.text += this.decoder.decode(this.start);
    this.text += this.decoder.decode();
    this.drain(true);
  }

  private problem(why: string): void {
    this.stopped = true;
    this.text = '';
    this.onProblem(why);
  }

  private drain(final: boolean): void {
    let at = 0;
    const text = this.text;
    while (!this.stopped) {
      const open = text.indexOf('<', at);
      if (open < 0) {
        at = text.length;
        break;
      }
      at = open;
      // Long enough to tell a comment, CDATA or declaration from a tag.
      if (text.length - open < 9 && !final) break;
      const end = this.constructEnd(text, open);
      if (end === undefined) break;
      at = end;
    }
    this.text = text.slice(at);
    if (!this.stopped && this.text.length > MAX_XML_CONSTRUCT_CHARS) {
      this.problem(`has a construct longer than ${MAX_XML_CONSTRUCT_CHARS} characters`);
    }
  }

  /** Where the construct starting at `open` ends (having reported it), or undefined if it has not arrived. */
  private constructEnd(text: string, open: number): number | undefined {
    const skipTo = (terminator: string, from: number): number | undefined => {
      const found = text.indexOf(terminator, from);
      return found < 0 ? undefined : found + terminator.length;
    };
    if (text.startsWith('<!--', open)) return skipTo('-->', open + 4);
    if (text.startsWith('<![CDATA[', open)) return skipTo(']]>', open + 9);
    if (text.startsWith('<?', open)) return skipTo('?>', open + 2);
    if (text.startsWith('<!', open)) {
      this.problem('has a document type declaration');
      return undefined;
    }
    let quote = '';
    for (let i = open + 1; i < text.length; i++) {
      const char = text[i];
      if (quote !== '') {
        if (char === quote) quote = '';
      } else if (char === '"' || char === "'") {
        quote = char;
      } else if (char === '>') {
        this.element(text.slice(open + 1, i));
        return i + 1;
      }
    }
    return undefined;
  }

  private element(body: string): void {
    const name = /^[^\s/>]+/.exec(body)?.[0];
    if (name === undefined || body.startsWith('/')) return;
    const attributes: Array<[string, string]> = [];
    for (const match of body.slice(name.length).matchAll(/([^\s=/]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      attributes.push([match[1] ?? '', unescape(match[2] ?? match[3] ?? '')]);
    }
    this.onElement({ name: name.slice(name.indexOf(':') + 1), attributes });
  }
}

function encodingOf(start: Buffer): string {
  if (start[0] === 0xff && start[1] === 0xfe) return 'utf-16le';
  if (start[0] === 0xfe && start[1] === 0xff) return 'utf-16be';
  return 'utf-8';
}
