/**
 * Access keys and sessions (seed 004): issued by the deployment as S3 and MinIO do (an id and
 * a secret), each with a policy; a session is a short-lived key issued from a long-term one,
 * carrying its security information (`protected`). The secret is shown once, at creation, and
 * stored only encrypted (ports.ts, SecretCipher).
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { groupNameSchema } from '../edge/index.ts';
import { AccessDeniedError, AccessKeyNotFoundError, InvalidParameterError } from '../errors.ts';
import { integer, parseWith, strictObject } from '../validate.ts';
import type { KeyRecord, KeyStore, RootKeySource, SecretCipher } from './ports.ts';
import { type Policy, type Principal, policySchema } from './principal.ts';

export interface KeyDeps {
  keys: KeyStore;
  cipher: SecretCipher;
  root: RootKeySource;
  clock: Clock;
}

/** `POST /admin/keys`. */
export const createKeySchema = strictObject(
  {
    policy: policySchema,
    protected: z.boolean().optional(),
    clientGroup: groupNameSchema.optional(),
  },
  'a key field',
);

/** `POST /sessions`: STS's default and bounds, with a lower floor so tests can see expiry. */
export const createSessionSchema = strictObject(
  { durationSeconds: integer(5, 43_200).optional() },
  'a session field',
);
export const DEFAULT_SESSION_SECONDS = 3600;

/** What the creator of a key sees, once. */
export interface IssuedKey {
  accessKeyId: string;
  secretAccessKey: string;
  policy: Policy;
  protected: boolean;
  clientGroup?: string;
}

/** What anyone later sees of a key. */
export interface KeySummary {
  accessKeyId: string;
  policy: Policy;
  protected: boolean;
  clientGroup?: string;
  state: 'active' | 'disabled';
  createdAt: string;
}

export interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ISO 8601, as STS's `Expiration`. */
  expiration: string;
  protected: boolean;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A 20-character id like AWS's: `DSNK` for keys, `DSNS` for sessions, then 16 random chars. */
function newId(prefix: 'DSNK' | 'DSNS'): string {
  const bytes = randomBytes(16);
  let id = prefix;
  for (const b of bytes) id += ID_ALPHABET[b & 31];
  return id;
}

/** 40 characters, as AWS's secret access keys. */
function newSecret(): string {
  return randomBytes(30).toString('base64url');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function summary(r: KeyRecord): KeySummary {
  return {
    accessKeyId: r.accessKeyId,
    policy: r.policy,
    protected: r.protected,
    ...(r.clientGroup === undefined ? {} : { clientGroup: r.clientGroup }),
    state: r.state,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

/** Issues a long-term key. */
export async function createKey(deps: KeyDeps, input: unknown): Promise<IssuedKey> {
  const req = parseWith(createKeySchema, input);
  const accessKeyId = newId('DSNK');
  const secretAccessKey = newSecret();
  const record: KeyRecord = {
    accessKeyId,
    kind: 'key',
    secretCiphertext: await deps.cipher.encrypt(secretAccessKey, accessKeyId),
    policy: req.policy,
    protected: req.protected ?? false,
    ...(req.clientGroup === undefined ? {} : { clientGroup: req.clientGroup }),
    state: 'active',
    createdAt: deps.clock.now(),
    rootKeyId: accessKeyId,
  };
  await deps.keys.put(record);
  return {
    accessKeyId,
    secretAccessKey,
    policy: record.policy,
    protected: record.protected,
    ...(req.clientGroup === undefined ? {} : { clientGroup: req.clientGroup }),
  };
}

export async function listKeys(deps: KeyDeps): Promise<KeySummary[]> {
  const keys = await deps.keys.listKeys();
  return keys.sort((a, b) => a.createdAt - b.createdAt).map(summary);
}

/** Key ids are 16 to 128 upper-case letters and digits (ours are 20, as AWS's). */
const KEY_ID = /^[A-Z0-9]{16,128}$/;

/** Whether `id` may be an access key id (the root key's too). */
export function isAccessKeyId(id: string): boolean {
  return KEY_ID.test(id);
}

async function refuseRoot(deps: KeyDeps, accessKeyId: string): Promise<void> {
  if (!isAccessKeyId(accessKeyId))
    throw new InvalidParameterError(
      'id',
      'must be an access key id: 16 to 128 upper-case letters and digits',
    );
  const root = await deps.root.get();
  if (root.accessKeyId === accessKeyId)
    throw new InvalidParameterError(
      'id',
      'is the root key, which lives in Secrets Manager (credentials.json locally) and is replaced there',
    );
}

/** Disables a key; its sessions stop working with it. Idempotent. */
export async function disableKey(deps: KeyDeps, accessKeyId: string): Promise<KeySummary> {
  await refuseRoot(deps, accessKeyId);
  const record = await deps.keys.get(accessKeyId);
  if (record?.kind !== 'key') throw new AccessKeyNotFoundError(accessKeyId);
  await deps.keys.disable(accessKeyId);
  return summary({ ...record, state: 'disabled' });
}

/**
 * Rotation: a new key with the same policy and flag, and the old one disabled, so the old
 * secret stops working the moment the new one is handed out.
 */
export async function rotateKey(deps: KeyDeps, accessKeyId: string): Promise<IssuedKey> {
  await refuseRoot(deps, accessKeyId);
  const record = await deps.keys.get(accessKeyId);
  if (record?.kind !== 'key' || record.state !== 'active')
    throw new AccessKeyNotFoundError(accessKeyId);
  const issued = await createKey(deps, {
    policy: record.policy,
    protected: record.protected,
    ...(record.clientGroup === undefined ? {} : { clientGroup: record.clientGroup }),
  });
  await deps.keys.disable(accessKeyId);
  return issued;
}

/**
 * Issues session credentials to a long-term key, as STS GetSessionToken does: the key's
 * policy, and its security information (`protected`). A session cannot issue sessions.
 */
export async function createSession(
  deps: KeyDeps,
  caller: Principal,
  input: unknown,
): Promise<SessionCredentials> {
  const req = parseWith(createSessionSchema, input ?? {});
  if (caller.accessKeyId !== caller.rootKeyId)
    throw new AccessDeniedError(
      'POST /sessions',
      'session credentials (sign with a long-term key)',
    );
  const accessKeyId = newId('DSNS');
  const secretAccessKey = newSecret();
  const sessionToken = randomBytes(32).toString('base64url');
  const now = deps.clock.now();
  const expiresAt = now + (req.durationSeconds ?? DEFAULT_SESSION_SECONDS) * 1000;
  await deps.keys.put({
    accessKeyId,
    kind: 'session',
    secretCiphertext: await deps.cipher.encrypt(secretAccessKey, accessKeyId),
    policy: caller.policy,
    protected: caller.protected,
    ...(caller.clientGroup === undefined ? {} : { clientGroup: caller.clientGroup }),
    state: 'active',
    createdAt: now,
    rootKeyId: caller.rootKeyId,
    expiresAt,
    tokenSha256: sha256Hex(sessionToken),
  });
  return {
    accessKeyId,
    secretAccessKey,
    sessionToken,
    expiration: new Date(expiresAt).toISOString(),
    protected: caller.protected,
  };
}
