/**
 * Which key the CLI signs with: `DSN_ACCESS_KEY_ID` / `DSN_SECRET_ACCESS_KEY` (and
 * `DSN_SESSION_TOKEN` for session credentials), else the local cloud's root key in
 * `$DSN_DATA_DIR/credentials.json` (`.dsn/` by default, as `npm start`). And the region it
 * signs for: `DSN_REGION`, else the one an API Gateway URL names, else `AWS_REGION`, else
 * `us-east-1` (serverless.yml's default, and the local cloud's).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Credentials } from '../shared/access/signer.ts';
import { UsageError } from './errors.ts';

export type Env = Record<string, string | undefined>;

/** The credentials file of the local cloud started from this folder (or `DSN_DATA_DIR`). */
export function credentialsFile(env: Env = process.env): string {
  return resolve(env.DSN_DATA_DIR || '.dsn', 'credentials.json');
}

/** The credentials to sign with, or undefined when there are none (requests go unsigned). */
export function findCredentials(env: Env = process.env): Credentials | undefined {
  const id = env.DSN_ACCESS_KEY_ID;
  const secret = env.DSN_SECRET_ACCESS_KEY;
  if (id || secret) {
    if (!id || !secret)
      throw new UsageError('set both DSN_ACCESS_KEY_ID and DSN_SECRET_ACCESS_KEY, or neither');
    return {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(env.DSN_SESSION_TOKEN ? { sessionToken: env.DSN_SESSION_TOKEN } : {}),
    };
  }
  const file = credentialsFile(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as Partial<Credentials>;
  if (typeof parsed.accessKeyId !== 'string' || typeof parsed.secretAccessKey !== 'string')
    throw new UsageError(`${file} must hold {"accessKeyId","secretAccessKey"}`);
  return { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey };
}

/** The region requests to `endpoint` are signed for. */
export function regionFor(endpoint: string, env: Env = process.env): string {
  if (env.DSN_REGION) return env.DSN_REGION;
  const m = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(new URL(endpoint).hostname);
  return m?.[1] ?? (env.AWS_REGION || 'us-east-1');
}
