/** The SecretCipher on AWS: KMS Encrypt/Decrypt with the key id as encryption context. */
import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { SecretCipher } from '../../access/index.ts';

export class KmsSecretCipher implements SecretCipher {
  private readonly kms: KMSClient;
  private readonly keyId: string;

  constructor(kms: KMSClient, keyId: string) {
    this.kms = kms;
    this.keyId = keyId;
  }

  async encrypt(plaintext: string, context: string): Promise<string> {
    const out = await this.kms.send(
      new EncryptCommand({
        KeyId: this.keyId,
        Plaintext: Buffer.from(plaintext),
        EncryptionContext: { accessKeyId: context },
      }),
    );
    if (!out.CiphertextBlob) throw new Error('KMS Encrypt answered no ciphertext');
    return Buffer.from(out.CiphertextBlob).toString('base64');
  }

  async decrypt(ciphertext: string, context: string): Promise<string> {
    const out = await this.kms.send(
      new DecryptCommand({
        KeyId: this.keyId,
        CiphertextBlob: Buffer.from(ciphertext, 'base64'),
        EncryptionContext: { accessKeyId: context },
      }),
    );
    if (!out.Plaintext) throw new Error('KMS Decrypt answered no plaintext');
    return Buffer.from(out.Plaintext).toString('utf8');
  }
}
