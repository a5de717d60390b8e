/**
 * The access system's wiring. The authorizer and the API's keys: on AWS the root key is the
 * stack's Secrets Manager secret (`DSN_ROOT_KEY_SECRET`) and secrets are sealed by KMS
 * (`DSN_ACCESS_KMS_KEY`); the local cloud, which emulates neither, says so by setting
 * `DSN_ROOT_CREDENTIALS_FILE` (its credentials.json), and secrets are sealed with a key derived
 * from that root secret (local-cipher.ts). The scan task the committer registers, and the rules
 * the admin routes manage. Each reads only its own configuration.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type AuthenticateDeps,
  currentRules,
  everyScanner,
  type KeyDeps,
  type RootKeySource,
  type Scanner,
  type SecretCipher,
  scanTask,
  signatureScanner,
} from '../../access/index.ts';
import { ConfigError, clamdAddress, loadConfig } from '../../config.ts';
import { everyBus, listenerBus } from '../../listeners/index.ts';
import type { AssociatedTask, ReaderDeps, WriteScanner } from '../../store/index.ts';
import { SDK_CLIENT_OPTIONS } from '../clients.ts';
import { wireFanOut } from '../listeners/wire.ts';
import type { Runtime } from '../runtime.ts';
import { SnsEventBus } from '../store/events.ts';
import { DynamoObjectIndex } from '../store/object-index.ts';
import { clamdScanner } from './clamd.ts';
import { DynamoKeyStore } from './key-store.ts';
import { KmsSecretCipher } from './kms.ts';
import { LocalSecretCipher } from './local-cipher.ts';
import { FileRootKey, SecretsManagerRootKey } from './root-key.ts';
import { DynamoRulesStore } from './rules-store.ts';

/**
 * Objects larger than this are `skipped`: the scan runs inside the committer's batch, whose
 * function has 30 s, and reading 32 MiB from the units takes a fraction of that.
 */
export const SCAN_MAX_BYTES = 32 * 1024 * 1024;

/** How long clamd may stay silent during one scan. */
const CLAMD_TIMEOUT_MS = 20_000;

/** The uploaded scan rules, for the admin routes. */
export function wireScanRules(rt: Runtime) {
  const { controlTable } = loadConfig(rt.env, ['controlTable']);
  return { rules: new DynamoRulesStore(rt.clients.documents, controlTable), clock: rt.clock };
}

/** The built-in signatures, and clamd beside them when `DSN_CLAMD` names one. */
export function wireScanner(rt: Runtime): Scanner {
  const builtin = signatureScanner(currentRules(wireScanRules(rt)));
  const clamd = clamdAddress(rt.env);
  return clamd
    ? everyScanner(builtin, clamdScanner(clamd, { timeoutMs: CLAMD_TIMEOUT_MS }))
    : builtin;
}

/**
 * The scan a server-side writer runs as it encodes (store/write-scan.ts): the built-in
 * signatures, up to the task's limit. With clamd configured there is none: its round trips
 * would sit in every write, and the commit's task reads the object back for both, as before.
 */
export function wireWriteScanner(rt: Runtime): WriteScanner | undefined {
  if (clamdAddress(rt.env)) return undefined;
  const builtin = signatureScanner(currentRules(wireScanRules(rt)));
  return { maxBytes: SCAN_MAX_BYTES, open: () => builtin.open() };
}

/** The committer's scan task, reading objects through `reader` (the committer's own). */
export function wireScanTask(rt: Runtime, reader: ReaderDeps): AssociatedTask {
  const config = loadConfig(rt.env, ['objectsTable', 'eventsTopicArn']);
  return scanTask({
    index: new DynamoObjectIndex(rt.clients.documents, config.objectsTable),
    reader,
    scanner: wireScanner(rt),
    events: everyBus(
      new SnsEventBus(rt.clients.sns, config.eventsTopicArn),
      listenerBus(wireFanOut(rt)),
    ),
    clock: rt.clock,
    log: rt.log,
    maxBytes: SCAN_MAX_BYTES,
  });
}

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
  // Only the authorizer and the api reach these two services, so they are not among the
  // process-wide clients every function creates.
  return {
    root: new SecretsManagerRootKey(
      new SecretsManagerClient({ ...SDK_CLIENT_OPTIONS }),
      required(rt, 'DSN_ROOT_KEY_SECRET'),
    ),
    cipher: new KmsSecretCipher(
      new KMSClient({ ...SDK_CLIENT_OPTIONS }),
      required(rt, 'DSN_ACCESS_KMS_KEY'),
    ),
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
