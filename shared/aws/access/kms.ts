/** The SecretCipher on AWS: KMS Encrypt/Decrypt with the key id as encryption context. */
import type { SecretCipher } from '../../access/index.ts';
import { callJson, type JsonRpcTarget } from './json-rpc.ts';

export class KmsSecretCipher implements SecretCipher {
  private readonly target: JsonRpcTarget;
  private readonly keyId: string;

  constructor(target: Omit<JsonRpcTarget, 'service' | 'targetPrefix'>, keyId: string) {
    this.target = { ...target, service: 'kms', targetPrefix: 'TrentService' };
    this.keyId = keyId;
  }

  async encrypt(plaintext: string, context: string): Promise<string> {
    const out = await callJson<{ CiphertextBlob: string }>(this.target, 'Encrypt', {
      KeyId: this.keyId,
      Plaintext: Buffer.from(plaintext).toString('base64'),
      EncryptionContext: { accessKeyId: context },
    });
    return out.CiphertextBlob;
  }

  async decrypt(ciphertext: string, context: string): Promise<string> {
    const out = await callJson<{ Plaintext: string }>(this.target, 'Decrypt', {
      KeyId: this.keyId,
      CiphertextBlob: ciphertext,
      EncryptionContext: { accessKeyId: context },
    });
    return Buffer.from(out.Plaintext, 'base64').toString('utf8');
  }
}
