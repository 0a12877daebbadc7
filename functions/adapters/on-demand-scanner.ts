import { GuardDutyClient, SendObjectMalwareScanCommand } from '@aws-sdk/client-guardduty';
import { localScanEngine } from '../commons/local-scan-engine.js';
import type { ObjectRef } from '../domain/model.js';
import { toPipelineError } from './aws-errors.js';

/**
 * Asks the engine to scan one object version again; its result arrives later, as any result does
 * (the Object Scan Result event, through the intake). The Scan step asks after a failed scan, the
 * rescan function for every promoted file.
 */
export interface OnDemandScanner {
  readonly engine: string;
  request(object: ObjectRef): Promise<void>;
}

/** GuardDuty Malware Protection for S3's on-demand scan (the plan's role reads the object). */
export class GuardDutyOnDemandScanner implements OnDemandScanner {
  readonly engine = 'guardduty';

  constructor(private readonly client: GuardDutyClient = new GuardDutyClient({})) {}

  async request(object: ObjectRef): Promise<void> {
    try {
      await this.client.send(
        new SendObjectMalwareScanCommand({
          S3Object: { Bucket: object.bucket, Key: object.key, VersionId: object.versionId },
        }),
      );
    } catch (error) {
      throw toPipelineError('SendObjectMalwareScan', error);
    }
  }
}

/** The local runtime's ClamAV engine, which reads the version and delivers its result itself. */
export class LocalEngineOnDemandScanner implements OnDemandScanner {
  readonly engine = 'clamav';

  async request(object: ObjectRef): Promise<void> {
    await localScanEngine().requestScan(object);
  }
}
