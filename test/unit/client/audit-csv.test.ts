import { readFileSync } from 'node:fs';
import { auditCsvHeader, auditCsvRows, csvText } from '../../../client/audit-csv.js';
import type { AuditEvent, AuditUploadView } from '../../../client/index.js';

/**
 * The one CSV writer of audit exports (client/audit-csv.ts), which the CLI and the console share
 * (issue 13 item 2): RFC 4180 quoting, CRLF line ends, formulas defused.
 */

describe('csvText', () => {
  it('quotes commas, quotes, line breaks and edge white space as RFC 4180 does', () => {
    expect(csvText([['plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\rhere', ' padded', 'x ', '', 42]])).toBe(
      'plain,"a,b","say ""hi""","two\nlines","cr\rhere"," padded","x ",,42\r\n',
    );
  });

  it('defuses every cell a spreadsheet would run as a formula with a leading "\'"', () => {
    expect(csvText([['=HYPERLINK("http://x","y")', '+1', '-2', '@SUM(A1)', '\tcmd', 'a=b']])).toBe(
      `"'=HYPERLINK(""http://x"",""y"")",'+1,'-2,'@SUM(A1),"'\tcmd",a=b\r\n`,
    );
  });

  it('writes empty cells for null and undefined', () => {
    expect(csvText([[null, undefined, 'x']])).toBe(',,x\r\n');
  });
});

describe('audit export rows', () => {
  const upload: AuditUploadView = {
    uploadId: 'U1',
    owner: '@alice',
    status: 'REJECTED',
    fileName: 'in,voice.pdf',
    contentType: 'application/pdf',
    size: 1,
    createdAt: 't0',
    updatedAt: 't2',
  };
  const events: AuditEvent[] = [
    {
      seq: 1,
      at: 't0',
      actor: { type: 'user', id: '@alice' },
      action: 'ISSUED',
      from: null,
      to: 'PENDING_UPLOAD',
      reasons: [],
    },
    {
      seq: 2,
      at: 't2',
      actor: { type: 'system', id: 'record' },
      action: 'REJECTED',
      from: 'PROCESSING',
      to: 'REJECTED',
      reasons: [
        { code: 'TYPE_MISMATCH', message: 'm' },
        { code: 'CHECKSUM_MISMATCH', message: 'n' },
      ],
      versionId: 'v1',
      executionId: 'e1',
    },
  ];

  it('has the header the CLI documents', () => {
    expect(auditCsvHeader()).toBe(
      'uploadId,owner,fileName,status,at,action,from,to,reasons,versionId,actor,executionId\r\n',
    );
  });

  it('writes one row per audit event, reasons joined by ";", owners defused', () => {
    expect(auditCsvRows(upload, events)).toBe(
      'U1,\'@alice,"in,voice.pdf",REJECTED,t0,ISSUED,,PENDING_UPLOAD,,,user:@alice,\r\n' +
        'U1,\'@alice,"in,voice.pdf",REJECTED,t2,REJECTED,PROCESSING,REJECTED,TYPE_MISMATCH;CHECKSUM_MISMATCH,v1,system:record,e1\r\n',
    );
  });

  it('keeps an upload without events as one row', () => {
    expect(auditCsvRows(upload, [])).toBe('U1,\'@alice,"in,voice.pdf",REJECTED,,,,,,,,\r\n');
  });
});

describe('one writer for the CLI and the console', () => {
  it.each(['cli/audit.ts', 'console/app.ts'])('%s writes audit CSV with client/audit-csv.ts only', (file) => {
    const source = readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');
    expect(source).toMatch(/from '\.\.\/client\/audit-csv\.js'/);
    expect(source).not.toMatch(/\.join\(','\)|replace\(\/"\/g/);
  });
});
