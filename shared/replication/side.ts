/**
 * The two ends of a replication: a vault (or a prefix of one), or a plain S3 bucket (or a
 * prefix of one) on any S3-compatible endpoint. A request names them; credentials for an
 * outside endpoint never travel in a request: they are the function's own (its environment and
 * role), or the ones kept in a Secrets Manager secret the side names (`secret`), under
 * SECRET_PREFIX so that the functions' grant covers those secrets only.
 */
import { z } from 'zod';
import { vaultNameSchema } from '../store/index.ts';
import { parseWith, strictObject } from '../validate.ts';

export interface VaultSide {
  vault: string;
  prefix: string;
}

export interface BucketSide {
  bucket: string;
  /** An S3-compatible endpoint (https, or http on loopback); the function's own S3 when absent. */
  endpoint?: string;
  region?: string;
  /**
   * A Secrets Manager secret (name or ARN, under SECRET_PREFIX) whose SecretString is
   * `{"accessKeyId","secretAccessKey","sessionToken"?}`: the credentials for this bucket.
   */
  secret?: string;
  prefix: string;
}

export type Side = VaultSide | BucketSide;

export function isVaultSide(side: Side): side is VaultSide {
  return 'vault' in side;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Where the secrets a replication may name live: the functions may read these and no others. */
export const SECRET_PREFIX = 'dsn/replication/';

/** A secret's name, or its ARN, under SECRET_PREFIX (Secrets Manager's name characters). */
const SECRET =
  /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?dsn\/replication\/[A-Za-z0-9/_+=.@-]{1,400}$/;
const prefixSchema = z.string().max(1024, 'must be at most 1024 characters').default('');

const endpointSchema = z.url({ error: 'must be an http(s) URL' }).refine(
  (v) => {
    const url = new URL(v);
    if (url.protocol === 'https:') return true;
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  },
  { error: 'must be https (plain http only on loopback)' },
);

export const vaultSideSchema = strictObject(
  { vault: vaultNameSchema, prefix: prefixSchema },
  'a vault side field',
);

export const bucketSideSchema = strictObject(
  {
    bucket: z.string().regex(BUCKET, 'must be an S3 bucket name'),
    endpoint: endpointSchema.optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region name')
      .optional(),
    secret: z
      .string()
      .regex(
        SECRET,
        `must name a Secrets Manager secret under ${SECRET_PREFIX} (its name or ARN; letters, digits and /_+=.@-)`,
      )
      .optional(),
    prefix: prefixSchema,
  },
  'a bucket side field',
);

/**
 * Parses one side of a request: `{"vault","prefix"?}` or
 * `{"bucket","endpoint"?,"region"?,"secret"?,"prefix"?}`, told apart by the `vault` key so that an
 * error names a field of the shape meant. @throws InvalidParameterError naming `field.<name>`. */
export function parseSide(value: unknown, field: string): Side {
  const isVault = typeof value === 'object' && value !== null && 'vault' in value;
  return parseWith(isVault ? vaultSideSchema : bucketSideSchema, value, {
    name: field,
    qualified: true,
  });
}

/**
 * Whether the two sides share keys: the same vault, or the same bucket at the same endpoint,
 * with one prefix starting with the other. A job between them would read what it writes, and
 * with `deleteExtraneous` delete source objects as extraneous destination keys.
 */
export function sidesOverlap(a: Side, b: Side): boolean {
  const sameStore =
    isVaultSide(a) && isVaultSide(b)
      ? a.vault === b.vault
      : !isVaultSide(a) && !isVaultSide(b) && a.bucket === b.bucket && a.endpoint === b.endpoint;
  return sameStore && (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix));
}

/** `vault/prefix` or `s3://bucket/prefix`, for logs and the CLI. */
export function describeSide(side: Side): string {
  return isVaultSide(side) ? `${side.vault}/${side.prefix}` : `s3://${side.bucket}/${side.prefix}`;
}

/** The destination key of a source key: the source prefix swapped for the destination's. */
export function destinationKey(source: Side, destination: Side, key: string): string {
  return destination.prefix + key.slice(source.prefix.length);
}

/** The source key of a destination key: the destination prefix swapped for the source's. */
export function sourceKey(source: Side, destination: Side, key: string): string {
  return source.prefix + key.slice(destination.prefix.length);
}
