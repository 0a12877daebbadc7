import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { toPipelineError } from './aws-errors.js';

/**
 * Signs audit digests with ECDSA P-256 / SHA-256 (DER signatures, base64), and gives the public
 * key that verifies them as PEM: an asymmetric KMS key on AWS, a key file locally.
 */
export interface DigestSigner {
  /** What digests name the key by (the KMS key ARN, or `local:<SHA-256 of the public key>`). */
  keyId(): Promise<string>;
  sign(input: Buffer): Promise<string>;
  publicKeyPem(): Promise<string>;
}

/**
 * KMS Sign with ECDSA_SHA_256 over the SHA-256 of the input (MessageType DIGEST: a RAW message is
 * limited to 4 KB, a digest is not), which verifies as ECDSA with SHA-256 over the input itself.
 */
export class KmsDigestSigner implements DigestSigner {
  constructor(
    private readonly keyArn: string,
    private readonly client: KMSClient = new KMSClient({}),
  ) {}

  keyId(): Promise<string> {
    return Promise.resolve(this.keyArn);
  }

  async sign(input: Buffer): Promise<string> {
    try {
      const out = await this.client.send(
        new SignCommand({
          KeyId: this.keyArn,
          Message: createHash('sha256').update(input).digest(),
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );
      return Buffer.from(out.Signature ?? new Uint8Array()).toString('base64');
    } catch (error) {
      throw toPipelineError('Sign(digest)', error);
    }
  }

  async publicKeyPem(): Promise<string> {
    try {
      const out = await this.client.send(new GetPublicKeyCommand({ KeyId: this.keyArn }));
      return spkiPem(createPublicKey({ key: Buffer.from(out.PublicKey ?? []), format: 'der', type: 'spki' }));
    } catch (error) {
      throw toPipelineError('GetPublicKey(digest)', error);
    }
  }
}

/** The local runtime's key: an EC P-256 private key (PEM) in its data dir. Not IAM-checked. */
export class FileDigestSigner implements DigestSigner {
  private key: Promise<KeyObject> | undefined;

  constructor(private readonly path: string) {}

  async keyId(): Promise<string> {
    return `local:${createHash('sha256')
      .update(createPublicKey(await this.privateKey()).export({ type: 'spki', format: 'der' }))
      .digest('hex')}`;
  }

  async sign(input: Buffer): Promise<string> {
    return sign('sha256', input, await this.privateKey()).toString('base64');
  }

  async publicKeyPem(): Promise<string> {
    return spkiPem(createPublicKey(await this.privateKey()));
  }

  private privateKey(): Promise<KeyObject> {
    this.key ??= readFile(this.path, 'utf8').then((pem) => createPrivateKey(pem));
    return this.key;
  }
}

const spkiPem = (key: KeyObject): string => key.export({ type: 'spki', format: 'pem' }).toString();
