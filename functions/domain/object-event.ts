/**
 * The EventBridge "Object Created" event the pipeline consumes, as S3 sends it. The local router
 * and the sweeper build the same shape when they start an execution themselves.
 */
export interface ObjectCreatedEvent {
  version: '0';
  id: string;
  'detail-type': 'Object Created';
  source: 'aws.s3';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    version: '0';
    bucket: { name: string };
    object: { key: string; size: number; 'version-id': string; etag?: string; sequencer?: string };
    'request-id': string;
    requester: string;
    reason: string;
  };
}

export function objectCreatedEvent(params: {
  id: string;
  bucket: string;
  key: string;
  size: number;
  versionId: string;
  time: Date;
  etag?: string;
  sequencer?: string;
  account?: string;
  region?: string;
  requester?: string;
  reason?: string;
}): ObjectCreatedEvent {
  return {
    version: '0',
    id: params.id,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: params.account ?? '000000000000',
    time: params.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: params.region ?? 'us-east-1',
    resources: [`arn:aws:s3:::${params.bucket}`],
    detail: {
      version: '0',
      bucket: { name: params.bucket },
      object: {
        key: params.key,
        size: params.size,
        'version-id': params.versionId,
        ...(params.etag ? { etag: params.etag } : {}),
        ...(params.sequencer ? { sequencer: params.sequencer } : {}),
      },
      'request-id': params.id,
      requester: params.requester ?? 'airlock',
      reason: params.reason ?? 'PutObject',
    },
  };
}
