/**
 * Signing requests to the API with AWS Signature Version 4 (service `dsn`), by the SDK's own
 * signer (`@smithy/signature-v4`): the CLI, the SDK, the test helpers and the authorizer all
 * build the canonical request here, so what a client signs is what the authorizer checks.
 * Imports nothing of the project, so the CLI may load it alone.
 *
 * The payload is not signed (`x-amz-content-sha256: UNSIGNED-PAYLOAD`, as S3 allows): an HTTP
 * API authorizer never sees the body, so it could not check a payload hash.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

export const SERVICE = 'dsn';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** An access key's credentials, or a session's (with its token). */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

/** SHA-256 and HMAC-SHA-256 over node:crypto, in the shape the signer takes. */
export class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(toBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {}
}

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** The parts of a request that are signed. `path` is as sent on the wire (percent-encoded). */
export interface SignableRequest {
  method: string;
  /** The Host header: `127.0.0.1:3000`, `abc.execute-api.us-east-1.amazonaws.com`. */
  host: string;
  path: string;
  /** Decoded query parameters, as URLSearchParams gives them. */
  query: Record<string, string | string[]>;
  /** Lower-case names. */
  headers: Record<string, string>;
}

/**
 * The SDK's signer for `dsn`. `applyChecksum: false` keeps it from adding an
 * `x-amz-content-sha256` header of its own: a client that sent none (curl --aws-sigv4 on a GET)
 * signed the empty payload's hash, which is what the signer then uses.
 */
export function signerFor(credentials: Credentials, region: string): SignatureV4 {
  return new SignatureV4({
    credentials,
    region,
    service: SERVICE,
    sha256: NodeSha256,
    applyChecksum: false,
  });
}

/** Query parameters of `url` (decoded; repeated names as arrays), as the signer wants them. */
export function queryOf(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of params) {
    const had = query[k];
    query[k] = had === undefined ? v : [...[had].flat(), v];
  }
  return query;
}

function toHttpRequest(req: SignableRequest) {
  return {
    method: req.method.toUpperCase(),
    protocol: 'https:',
    hostname: req.host,
    path: req.path,
    query: req.query,
    headers: { ...req.headers, host: req.host },
  };
}

/**
 * The headers that sign `req` (authorization, x-amz-date, x-amz-content-sha256, and
 * x-amz-security-token for a session). Only `host` and the `x-amz-*` headers are signed: the
 * HTTP client adds others (content-length, user-agent) after signing.
 */
export async function signatureHeaders(
  url: URL,
  method: string,
  credentials: Credentials,
  region: string,
  signingDate?: Date,
): Promise<Record<string, string>> {
  const signed = await signerFor(credentials, region).sign(
    toHttpRequest({
      method,
      host: url.host,
      path: url.pathname,
      query: queryOf(url.searchParams),
      headers: { 'x-amz-content-sha256': UNSIGNED_PAYLOAD },
    }),
    { signingDate },
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') out[k] = String(v);
  return out;
}

/** A presigned URL for `method` on `url`, valid `expiresInSeconds` from `signingDate`. */
export async function presignUrl(
  url: URL,
  method: string,
  credentials: Credentials,
  region: string,
  expiresInSeconds: number,
  signingDate?: Date,
): Promise<URL> {
  const signed = await signerFor(credentials, region).presign(
    toHttpRequest({
      method,
      host: url.host,
      path: url.pathname,
      query: queryOf(url.searchParams),
      headers: {},
    }),
    { expiresIn: expiresInSeconds, signingDate },
  );
  const out = new URL(url);
  out.search = '';
  for (const [k, v] of Object.entries(signed.query ?? {}))
    for (const one of [v ?? ''].flat()) out.searchParams.append(k, String(one));
  return out;
}

/** Recomputes the signature of `req` (header form), for the authorizer. */
export async function expectedHeaderSignature(
  req: SignableRequest,
  credentials: Credentials,
  region: string,
  signingDate: Date,
): Promise<{ authorization: string }> {
  const signed = await signerFor(credentials, region).sign(toHttpRequest(req), { signingDate });
  return { authorization: String(signed.headers.authorization ?? '') };
}

/** Recomputes the `X-Amz-Signature` of a presigned `req` (its auth parameters removed). */
export async function expectedPresignedSignature(
  req: SignableRequest,
  credentials: Credentials,
  region: string,
  signingDate: Date,
  expiresInSeconds: number,
): Promise<{ signature: string; signedHeaders: string }> {
  const signed = await signerFor(credentials, region).presign(toHttpRequest(req), {
    signingDate,
    expiresIn: expiresInSeconds,
  });
  const q = signed.query ?? {};
  return {
    signature: String(q['X-Amz-Signature'] ?? ''),
    signedHeaders: String(q['X-Amz-SignedHeaders'] ?? ''),
  };
}
