import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { decideScan, type MalwareScanResult, type StoredScan } from '../domain/scan-verdict.js';
import { errorName, toPipelineError } from './aws-errors.js';

/**
 * Malware scan results, stored in the uploads table beside the upload they belong to, keyed by
 * the exact object version scanned:
 *   scan of a quarantine version   pk=UPLOAD#<id>  sk=SCAN#<versionId>
 *   rescan of the promoted copy    pk=UPLOAD#<id>  sk=RESCAN#<scannedAt>#<versionId>
 * In no index, and outside the audit trail's EVENT# range, so no query of uploads meets them.
 *
 * Whichever comes first, the engine's result or the Scan step that waits for it, the result is
 * durable: the step only reads. A result that decided (clean, threat, not fully scanned) is never
 * replaced; a failed scan, or a pending request for a new one, may be.
 */
export type { StoredScan };

const uploadPk = (uploadId: string) => `UPLOAD#${uploadId}`;
const scanSk = (versionId: string) => `SCAN#${versionId}`;

export class ScanResultStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    private readonly tableName: string,
    client: DynamoDBClient = new DynamoDBClient({}),
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async get(uploadId: string, versionId: string): Promise<StoredScan | undefined> {
    try {
      const out = await this.doc.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: uploadPk(uploadId), sk: scanSk(versionId) },
          ConsistentRead: true,
        }),
      );
      const item = out.Item;
      if (item === undefined) return undefined;
      const storedAt = String(item.storedAt);
      return item.result !== undefined
        ? { kind: 'RESULT', result: item.result as MalwareScanResult, storedAt }
        : { kind: 'REQUESTED', requestedAt: String(item.requestedAt), storedAt };
    } catch (error) {
      throw toPipelineError('GetItem(scan result)', error);
    }
  }

  /**
   * Stores the result of scanning one quarantine version, unless a result that decided is
   * already there (a duplicate or late delivery): true when written.
   */
  async putResult(
    uploadId: string,
    versionId: string,
    result: MalwareScanResult,
    at: string,
  ): Promise<boolean> {
    return this.conditionalPut(
      {
        pk: uploadPk(uploadId),
        sk: scanSk(versionId),
        entity: 'ScanResult',
        uploadId,
        versionId,
        result,
        decided: decideScan(result).kind !== 'FAIL',
        storedAt: at,
      },
      'attribute_not_exists(pk) OR decided = :false',
      { ':false': false },
    );
  }

  /**
   * Notes that a new scan was asked for, in place of what the step found: nothing (`replacing`
   * undefined) or the stored entry of that `storedAt`. False when something else was stored
   * meanwhile (the new result may already be there).
   */
  async markRequested(uploadId: string, versionId: string, at: string, replacing?: string): Promise<boolean> {
    return this.conditionalPut(
      {
        pk: uploadPk(uploadId),
        sk: scanSk(versionId),
        entity: 'ScanResult',
        uploadId,
        versionId,
        requestedAt: at,
        decided: false,
        storedAt: at,
      },
      replacing === undefined ? 'attribute_not_exists(pk)' : 'storedAt = :replacing AND decided = :false',
      replacing === undefined ? undefined : { ':replacing': replacing, ':false': false },
    );
  }

  /** Keeps the result of a rescan of a promoted copy (evidence; each rescan is its own item). */
  async putRescan(uploadId: string, versionId: string, result: MalwareScanResult, at: string): Promise<void> {
    await this.conditionalPut(
      {
        pk: uploadPk(uploadId),
        sk: `RESCAN#${result.scannedAt}#${versionId}`,
        entity: 'RescanResult',
        uploadId,
        versionId,
        result,
        storedAt: at,
      },
      'attribute_not_exists(pk)',
    );
  }

  private async conditionalPut(
    item: Record<string, unknown>,
    condition: string,
    values?: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: condition,
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw toPipelineError(`PutItem(${String(item.entity)})`, error);
    }
  }
}
