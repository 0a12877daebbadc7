import { Readable } from 'node:stream';
import { strToU8, unzipSync } from 'fflate';
import type { ActiveContentCheck } from '../../../functions/domain/active-content/checks.js';
import { OoxmlActiveContentScanner } from '../../../functions/domain/active-content/ooxml.js';
import { inspectContent } from '../../../functions/domain/content-inspection.js';
import { DEFAULT_TYPE_POLICY, DOCX, XLSX, type TypePolicy } from '../../../functions/domain/type-policy.js';
import { judgeContent } from '../../../functions/domain/verdict.js';
import {
  docxFiles,
  entriesOf,
  OOXML_WITH,
  OOXML_WITHOUT,
  relationship,
  relationships,
  zipOf,
  zipped,
} from '../../fixtures/active-content.js';

const OFFICE_REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const TEMPLATE = `${OFFICE_REL}/attachedTemplate`;

const chunked = (bytes: Buffer, size: number): AsyncIterable<Uint8Array> =>
  Readable.from(
    Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
      bytes.subarray(i * size, (i + 1) * size),
    ),
  );

async function scan(bytes: Buffer, chunkSize = 97) {
  return (await inspectContent(chunked(bytes, chunkSize), { checkText: false })).activeContent;
}

const checksOf = async (bytes: Buffer, chunkSize?: number) =>
  (await scan(bytes, chunkSize))?.findings.map((finding) => finding.check);

async function judge(bytes: Buffer, contentType = DOCX, policy: TypePolicy = DEFAULT_TYPE_POLICY) {
  const facts = await inspectContent(chunked(bytes, 97), { checkText: false });
  return judgeContent({ contentType, size: bytes.length }, facts, policy);
}

/** A DOCX whose document relationships are this text, as given. */
const docxWithRelationshipsText = (text: string | Uint8Array): Buffer => {
  const files = docxFiles({ mainRelationships: [] });
  files['word/_rels/document.xml.rels'] = typeof text === 'string' ? strToU8(text) : text;
  return zipped(files);
};

/** The package's parts, to write them again (with data descriptors). */
const zippedFilesOf = (sample: keyof typeof OOXML_WITH): Record<string, Uint8Array> =>
  unzipSync(OOXML_WITH[sample]());

/** The checks each package must trip: what the construct is, by the list. */
const EXPECTED: Record<keyof typeof OOXML_WITH, ActiveContentCheck[]> = {
  'docx-vba': ['ooxml.vba'],
  'docx-vba-renamed': ['ooxml.vba'],
  'xlsx-vba': ['ooxml.vba'],
  'xlsx-xlm-macro-sheet': ['ooxml.xlm-macros'],
  'docx-activex': ['ooxml.activex'],
  'docx-ole-object': ['ooxml.ole-object'],
  'docx-remote-template': ['ooxml.external-relationship'],
  'docx-follina': ['ooxml.ole-object', 'ooxml.external-relationship'],
  'xlsx-external-workbook-link': ['ooxml.external-relationship'],
};

describe('OOXML active content', () => {
  it.each(Object.keys(OOXML_WITH) as Array<keyof typeof OOXML_WITH>)(
    'finds %s, whatever the chunk sizes, and the verdict refuses it with ACTIVE_CONTENT',
    async (sample) => {
      // Arrange
      const bytes = OOXML_WITH[sample]();
      const type = sample.startsWith('xlsx') ? XLSX : DOCX;
      // Act
      const found = await Promise.all([1, 3, 64, 4096, bytes.length].map((size) => checksOf(bytes, size)));
      const verdict = await judge(bytes, type);
      // Assert
      for (const checks of found) expect(checks).toEqual(EXPECTED[sample]);
      expect(verdict.reasons.map((reason) => reason.code)).toEqual(['ACTIVE_CONTENT']);
      for (const check of EXPECTED[sample]) expect(verdict.reasons[0]?.message).toContain(`[${check}]`);
    },
  );

  it.each(Object.keys(OOXML_WITHOUT) as Array<keyof typeof OOXML_WITHOUT>)('accepts %s', async (sample) => {
    const bytes = OOXML_WITHOUT[sample]();
    expect(await scan(bytes, 5)).toEqual({ format: 'ooxml', findings: [] });
    expect(await judge(bytes, sample.startsWith('xlsx') ? XLSX : DOCX)).toMatchObject({
      accepted: true,
      reasons: [],
    });
  });

  it('names what it found: the part, or the relationship and the part it is in', async () => {
    const report = await scan(OOXML_WITH['docx-remote-template']());
    expect(report?.findings).toEqual([
      {
        check: 'ooxml.external-relationship',
        construct: 'an external attachedtemplate relationship in word/_rels/settings.xml.rels',
        count: 1,
      },
    ]);
    const vba = await scan(OOXML_WITH['docx-vba']());
    // The content type, the part's name and its relationship: three ways to the same project.
    expect(vba?.findings).toEqual([
      {
        check: 'ooxml.vba',
        construct: 'content type application/vnd.ms-office.vbaproject for extension bin',
        count: 3,
      },
    ]);
  });

  it('reads entries whose sizes follow them in data descriptors, signed or not (Java, Go)', async () => {
    for (const descriptor of ['signed', 'unsigned'] as const) {
      const follina = zipOf(entriesOf(zippedFilesOf('docx-follina'), 8, descriptor));
      expect(await checksOf(follina, 7)).toEqual(['ooxml.ole-object', 'ooxml.external-relationship']);
      const plain = zipOf(entriesOf(docxFiles(), 8, descriptor));
      expect(await scan(plain, 7)).toEqual({ format: 'ooxml', findings: [] });
      expect(await judge(plain)).toMatchObject({ accepted: true });
    }
  });

  it('reads relationships however they are written: UTF-16, references, prefixes, comments, CDATA', async () => {
    const external = relationship('rId1', TEMPLATE, 'https://attacker.example/t.dotm', true);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(relationships(external), 'utf16le')]);
    const variants: Array<[string, string | Uint8Array]> = [
      ['UTF-16 with a byte order mark', utf16],
      ['a character reference', relationships(external.replace('"External"', '"&#x45;xternal"'))],
      ['an entity reference', relationships(external.replace('"External"', "'Ext&#101;rnal'"))],
      [
        'a prefixed element',
        relationships(external.replace('<Relationship ', '<pr:Relationship xmlns:pr="x" ')),
      ],
      ['a comment with a quote before it', relationships(`<!-- it's "here" -->${external}`)],
      ['a > inside a value', relationships(external.replace('t.dotm', 't.dotm?a>b'))],
      ['CDATA before it', relationships(`<![CDATA[ <x> ]]>${external}`)],
      ['an unknown TargetMode', relationships(external.replace('"External"', '"Remote"'))],
    ];
    for (const [label, text] of variants) {
      expect({ label, checks: await checksOf(docxWithRelationshipsText(text), 11) }).toEqual({
        label,
        checks: ['ooxml.external-relationship'],
      });
    }
  });

  it('does not read relationships a document type declaration could redefine', async () => {
    const text = relationships(relationship('rId1', TEMPLATE, 'x', false)).replace(
      '<Relationships',
      '<!DOCTYPE r [<!ENTITY m "External">]><Relationships',
    );
    const report = await scan(docxWithRelationshipsText(text));
    expect(report?.uncheckable).toBe('its part word/_rels/document.xml.rels has a document type declaration');
    expect((await judge(docxWithRelationshipsText(text))).reasons.map((reason) => reason.code)).toEqual([
      'ACTIVE_CONTENT',
    ]);
  });

  it('refuses a part only the central directory reaches (hidden inside another entry)', async () => {
    // Arrange: a stored "image" whose bytes are a whole local entry: the rels with an external template.
    const rels = Buffer.from(
      relationships(relationship('rId1', TEMPLATE, 'https://attacker.example/t', true)),
    );
    const inner = zipOf([{ name: 'word/_rels/document.xml.rels', data: rels, method: 0 }]);
    const innerEntry = inner.subarray(0, 30 + 'word/_rels/document.xml.rels'.length + rels.length);
    const files = docxFiles();
    const entries = [...entriesOf(files), { name: 'word/media/image1.png', data: innerEntry, method: 0 }];
    const hidden = zipOf(entries, (entry, offset) =>
      entry.name === 'word/media/image1.png'
        ? { name: 'word/_rels/document.xml.rels', offset: offset + 30 + entry.name.length }
        : {},
    );
    // Act
    const report = await scan(hidden);
    // Assert
    expect(report?.uncheckable).toMatch(
      /^its central directory lists word\/_rels\/document.xml.rels at offset \d+, which is not an entry the archive holds there$/,
    );
    expect(report?.findings).toEqual([]);
  });

  it('refuses entries compressed with methods OOXML excludes, or encrypted, as TYPE_MISMATCH', async () => {
    const entries = [
      ...entriesOf(docxFiles()),
      { name: 'word/media/image1.png', data: Buffer.alloc(64, 1), method: 14 },
    ];
    const lzma = zipOf(entries);
    expect((await scan(lzma))?.packageProblem).toBe(
      'its entry word/media/image1.png is compressed with method 14 (LZMA); OOXML allows only stored and deflated entries',
    );
    const verdict = await judge(lzma);
    expect(verdict.reasons.map((reason) => reason.code)).toEqual(['TYPE_MISMATCH']);
    // The encryption flag, in the local header and the central directory.
    const encrypted = Buffer.from(zipOf(entriesOf(docxFiles())));
    const last = encrypted.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    encrypted.writeUInt16LE(encrypted.readUInt16LE(last + 8) | 1, last + 8);
    expect((await scan(encrypted))?.packageProblem).toMatch(/is encrypted, which OOXML does not allow$/);
  });

  it('refuses a stored entry whose end only its data descriptor tells', async () => {
    const entries = entriesOf(docxFiles()).map((entry, index) =>
      index === 2 ? { ...entry, method: 0, descriptor: 'signed' as const } : entry,
    );
    const report = await scan(zipOf(entries));
    expect(report?.uncheckable).toMatch(
      /is not deflated, and only a data descriptor after it says where it ends$/,
    );
  });

  it('stops inflating at its bound, and refuses what it could not check unless every OOXML check is allowed', async () => {
    const bytes = zipOf(entriesOf(docxFiles(), 8, 'signed'));
    const scanner = new OoxmlActiveContentScanner(200);
    await scanner.push(bytes);
    expect((await scanner.finish()).uncheckable).toBe('its parts inflate to more than 200 bytes');
    const everything: TypePolicy = {
      ...DEFAULT_TYPE_POLICY,
      [DOCX]: {
        ...DEFAULT_TYPE_POLICY[DOCX]!,
        activeContent: {
          allow: [
            'ooxml.vba',
            'ooxml.xlm-macros',
            'ooxml.activex',
            'ooxml.ole-object',
            'ooxml.external-relationship',
          ],
        },
      },
    };
    const hiddenDtd = docxWithRelationshipsText('<!DOCTYPE x><Relationships/>');
    expect(await judge(hiddenDtd, DOCX, everything)).toMatchObject({ accepted: true });
    expect(await judge(OOXML_WITH['docx-follina'](), DOCX, everything)).toMatchObject({ accepted: true });
  });

  it('lets a type allow one check: external hyperlinks aside, the others still refuse', async () => {
    const policy: TypePolicy = {
      ...DEFAULT_TYPE_POLICY,
      [DOCX]: { ...DEFAULT_TYPE_POLICY[DOCX]!, activeContent: { allow: ['ooxml.external-relationship'] } },
    };
    expect(await judge(OOXML_WITH['docx-remote-template'](), DOCX, policy)).toMatchObject({ accepted: true });
    const follina = await judge(OOXML_WITH['docx-follina'](), DOCX, policy);
    expect(follina.reasons[0]?.message).toContain('[ooxml.ole-object]');
    expect(follina.reasons[0]?.message).not.toContain('[ooxml.external-relationship]');
    // The DOCX rule allows it; an XLSX with the same construct is still refused.
    expect((await judge(OOXML_WITH['xlsx-external-workbook-link'](), XLSX, policy)).accepted).toBe(false);
  });
});
