/**
 * The access system's wiring, for the authorizer and the API. On AWS the root key is the
 * stack's Secrets Manager secret (`DSN_ROOT_KEY_SECRET`) and secrets are sealed by KMS
 * (`DSN_ACCESS_KMS_KEY`); the local cloud, which emulates neither, says so by setting
 * `DSN_ROOT_CREDENTIALS_FILE` (its credentials.json), and secrets are sealed with a key derived
 * from that root secret (local-cipher.ts).
 */
import type { AuthenticateDeps, KeyDeps, RootKeySource, SecretCipher } from '../../access/index.ts';
import { ConfigError, loadConfig } from '../../config.ts';
import type { Runtime } from '../runtime.ts';
import { DynamoKeyStore } from './key-store.ts';
import { KmsSecretCipher } from './kms.ts';
import { LocalSecretCipher } from './local-cipher.ts';
import { FileRootKey, SecretsManagerRootKey } from './root-key.ts';

function required(rt: Runtime, variable: string): string {
  const value = rt.env[variable];
  if (!value) throw new ConfigError(variable, 'is required');
  return value;
}

function secrets(rt: Runtime): { root: RootKeySource; cipher: SecretCipher; region: string } {
  const region = required(rt, 'AWS_REGION');
  const file = rt.env.DSN_ROOT_CREDENTIALS_FILE;
  if (file) {
    const root = new FileRootKey(file);
    return { root, cipher: new LocalSecretCipher(root), region };
  }
  const target = { region, credentials: rt.clients.dynamodb.config.credentials };
  return {
    root: new SecretsManagerRootKey(target, required(rt, 'DSN_ROOT_KEY_SECRET')),
    cipher: new KmsSecretCipher(target, required(rt, 'DSN_ACCESS_KMS_KEY')),
    region,
  };
}

/** The authorizer: the key table, the root key, the cipher, the deployment's region. */
export function wireAuthenticate(rt: Runtime): AuthenticateDeps {
  const { accessKeysTable } = loadConfig(rt.env, ['accessKeysTable']);
  return {
    keys: new DynamoKeyStore(rt.clients.documents, accessKeysTable),
    ...secrets(rt),
    clock: rt.clock,
  };
}

/** The API's key management and sessions. */
export function wireKeys(rt: Runtime): KeyDeps {
  const { keys, root, cipher, clock } = wireAuthenticate(rt);
  return { keys, root, cipher, clock };
}
