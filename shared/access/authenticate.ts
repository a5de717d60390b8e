/**
 * Who signed a request: the authorizer's whole job. Checks the signature's form and time
 * (signature.ts), finds the key (the root key from its source, any other in the key store),
 * refuses unknown, disabled and expired ones, decrypts the secret and recomputes the signature.
 */
import type { Clock } from '../clock.ts';
import { UnauthenticatedError } from '../errors.ts';
import { sha256Hex } from './access-key.ts';
import type { KeyRecord, KeyStore, RootKeySource, SecretCipher } from './ports.ts';
import { ACTIONS, type Principal } from './principal.ts';
import { type IncomingRequest, parseSignature, verifySignature } from './signature.ts';

export interface AuthenticateDeps {
  keys: KeyStore;
  cipher: SecretCipher;
  root: RootKeySource;
  region: string;
  clock: Clock;
}

/** The root key's policy: everything, everywhere. */
const ROOT_POLICY: Principal['policy'] = [{ vaults: ['*'], actions: [...ACTIONS] }];

function unknownKey(accessKeyId: string): UnauthenticatedError {
  return new UnauthenticatedError(
    'InvalidAccessKeyId',
    `access key "${accessKeyId}" does not exist or is disabled`,
  );
}

/**
 * Decrypted secrets by id and ciphertext: KMS is called once per key per execution environment;
 * the record (its state) is still read on every request, so disabling takes effect at once.
 */
const secrets = new Map<string, string>();
const MAX_CACHED_SECRETS = 1000;

async function secretOf(cipher: SecretCipher, record: KeyRecord): Promise<string> {
  const cacheKey = `${record.accessKeyId}:${record.secretCiphertext}`;
  const cached = secrets.get(cacheKey);
  if (cached !== undefined) return cached;
  const secret = await cipher.decrypt(record.secretCiphertext, record.accessKeyId);
  if (secrets.size >= MAX_CACHED_SECRETS) secrets.clear();
  secrets.set(cacheKey, secret);
  return secret;
}

/**
 * The principal that signed `req`.
 * @throws UnauthenticatedError (401) for a missing, malformed, skewed, expired or wrong
 * signature, and for an unknown, disabled or expired key or session
 */
export async function authenticate(
  deps: AuthenticateDeps,
  req: IncomingRequest,
): Promise<Principal> {
  const now = deps.clock.now();
  const claim = parseSignature(req, deps.region, now);
  const root = await deps.root.get();
  if (claim.accessKeyId === root.accessKeyId) {
    if (claim.sessionToken !== undefined) throw unknownKey(claim.accessKeyId);
    await verifySignature(req, claim, root, deps.region);
    return {
      accessKeyId: root.accessKeyId,
      rootKeyId: root.accessKeyId,
      policy: ROOT_POLICY,
      protected: false,
    };
  }
  const record = await deps.keys.get(claim.accessKeyId);
  if (record?.state !== 'active') throw unknownKey(claim.accessKeyId);
  if (record.kind === 'session') {
    if (claim.sessionToken === undefined || sha256Hex(claim.sessionToken) !== record.tokenSha256)
      throw new UnauthenticatedError('InvalidSignature', 'the session token is missing or wrong');
    if ((record.expiresAt ?? 0) <= now)
      throw new UnauthenticatedError(
        'ExpiredToken',
        `the session expired at ${new Date(record.expiresAt ?? 0).toISOString()}`,
      );
    // A session lives only as long as the key it came from.
    if (record.rootKeyId !== root.accessKeyId) {
      const parent = await deps.keys.get(record.rootKeyId);
      if (parent?.state !== 'active') throw unknownKey(claim.accessKeyId);
    }
  } else if (claim.sessionToken !== undefined) {
    throw new UnauthenticatedError(
      'InvalidSignature',
      'a long-term key signs without a session token',
    );
  }
  const secretAccessKey = await secretOf(deps.cipher, record);
  await verifySignature(
    req,
    claim,
    { accessKeyId: record.accessKeyId, secretAccessKey, sessionToken: claim.sessionToken },
    deps.region,
  );
  return {
    accessKeyId: record.accessKeyId,
    rootKeyId: record.rootKeyId,
    policy: record.policy,
    protected: record.protected,
    ...(record.clientGroup === undefined ? {} : { clientGroup: record.clientGroup }),
  };
}
