/**
 * Credentials for a replication's outside bucket from the Secrets Manager secret its side names
 * (`secret`): a SecretString `{"accessKeyId","secretAccessKey","sessionToken"?}`. The secret is
 * read when a client first signs with it and again once REREAD_MS has passed, so a rotated
 * secret is picked up without a redeploy; a failed read is not remembered.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { heldReads } from '../../held-reads.ts';

/** What an SDK client's `credentials` option takes. */
export interface SecretIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration: Date;
}
export type SecretIdentityProvider = () => Promise<SecretIdentity>;

/** How long credentials read from a secret are used before it is read again. */
export const REREAD_MS = 10 * 60_000;

const credentialsSchema = z.object({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1).optional(),
});

/** Secrets Manager's answers that no retry mends. */
const REFUSED = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'DecryptionFailure',
  'InvalidRequestException',
  'InvalidParameterException',
]);

/**
 * The secret does not exist, may not be read, or does not hold credentials: the job cannot go
 * on until an operator mends it. Never carries the secret's value.
 */
export class SecretCredentialsError extends Error {
  override name = 'SecretCredentialsError';
}

/**
 * A credential provider per secret id (name or ARN), over one Secrets Manager client created on
 * first use. The SDK asks again once the returned expiration nears.
 */
export function secretCredentials(
  client: () => SecretsManagerClient,
  now: () => number = Date.now,
): (secretId: string) => SecretIdentityProvider {
  const read = async (secretId: string): Promise<SecretIdentity> => {
    let text: string | undefined;
    try {
      text = (await client().send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
    } catch (err) {
      // One that a retry may mend (throttling, the network) goes up as it is.
      if (!REFUSED.has((err as Error).name)) throw err;
      throw new SecretCredentialsError(
        `the secret ${secretId} could not be read: ${(err as Error).name}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text ?? '');
    } catch {
      parsed = undefined;
    }
    const creds = credentialsSchema.safeParse(parsed);
    if (!creds.success)
      throw new SecretCredentialsError(
        `the secret ${secretId} must hold a JSON SecretString {"accessKeyId","secretAccessKey","sessionToken"?}`,
      );
    // Past the SDK's own refresh window (5 minutes before expiration), so it asks again then.
    return { ...creds.data, expiration: new Date(now() + REREAD_MS + 5 * 60_000) };
  };
  const held = heldReads(read, { now, ms: REREAD_MS });
  return (secretId) => () => held(secretId);
}
