/** What access control needs from the outside; shared/aws/access/ implements it. */

import type { Policy } from './principal.ts';
import type { Credentials } from './signer.ts';

/** The rules text an admin uploaded last, as stored. */
export interface StoredRules {
  text: string;
  updatedAt: string;
  /** The access key that uploaded it. */
  updatedBy: string;
}

/** Where the uploaded scan rules live (one document per deployment). */
export interface RulesStore {
  get(): Promise<StoredRules | undefined>;
  /** Replaces the rules; the last write wins. */
  put(rules: StoredRules): Promise<void>;
}

/** A stored access key or session; the secret only as the cipher's ciphertext. */
export interface KeyRecord {
  accessKeyId: string;
  kind: 'key' | 'session';
  /** `SecretCipher.encrypt` of the secret access key, bound to `accessKeyId`. */
  secretCiphertext: string;
  policy: Policy;
  protected: boolean;
  /** The client group its reads are for (shared/edge/); sessions inherit their key's. */
  clientGroup?: string;
  state: 'active' | 'disabled';
  /** Epoch ms. */
  createdAt: number;
  /** The long-term key a session was issued from (the key itself for a key). */
  rootKeyId: string;
  /** Sessions: when they stop working (epoch ms), and the SHA-256 (hex) of their token. */
  expiresAt?: number;
  tokenSha256?: string;
}

export interface KeyStore {
  /** Stores a new record. */
  put(record: KeyRecord): Promise<void>;
  get(accessKeyId: string): Promise<KeyRecord | undefined>;
  /** Long-term keys only, sessions left out. */
  listKeys(): Promise<KeyRecord[]>;
  /** Marks a key disabled; true when it exists. Idempotent. */
  disable(accessKeyId: string): Promise<boolean>;
}

/**
 * Encrypts secrets at rest: KMS on AWS; on the local cloud, which has no KMS, AES-256-GCM with
 * a key derived from the root secret. `context` is bound to the ciphertext (KMS's encryption
 * context, GCM's associated data), so a ciphertext moved to another key's record fails.
 */
export interface SecretCipher {
  encrypt(plaintext: string, context: string): Promise<string>;
  decrypt(ciphertext: string, context: string): Promise<string>;
}

/** The deployment's root admin key: Secrets Manager on AWS, credentials.json locally. */
export interface RootKeySource {
  get(): Promise<Credentials>;
}
