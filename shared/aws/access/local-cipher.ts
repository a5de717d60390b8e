/**
 * The local cloud's SecretCipher: there is no KMS emulator, so secrets are sealed with
 * AES-256-GCM under a key derived (HKDF-SHA-256) from the root secret in credentials.json, as
 * MinIO encrypts its IAM data with a key derived from its root credentials when no KMS is
 * configured. Replacing credentials.json therefore makes the stored keys unreadable: they are
 * refused as if unknown, and new ones must be created.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { RootKeySource, SecretCipher } from '../../access/index.ts';

const VERSION = 'l1';

export class LocalSecretCipher implements SecretCipher {
  private readonly root: RootKeySource;
  private key: Promise<Buffer> | undefined;

  constructor(root: RootKeySource) {
    this.root = root;
  }

  private masterKey(): Promise<Buffer> {
    this.key ??= this.root
      .get()
      .then(({ secretAccessKey }) =>
        Buffer.from(hkdfSync('sha256', secretAccessKey, 'dsn', 'dsn access key secrets', 32)),
      );
    return this.key;
  }

  async encrypt(plaintext: string, context: string): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', await this.masterKey(), iv);
    cipher.setAAD(Buffer.from(context));
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64')}`;
  }

  async decrypt(ciphertext: string, context: string): Promise<string> {
    const [version, body] = ciphertext.split('.');
    if (version !== VERSION || body === undefined)
      throw new Error(`secret ciphertext is not a local-cloud one (${version})`);
    const bytes = Buffer.from(body, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', await this.masterKey(), bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  }
}
