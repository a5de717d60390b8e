/**
 * AWS Signature Version 4 for the API (service `dsn`), by the SDK's own signer
 * (`@smithy/signature-v4`), with the SHA-256 implementation passed in: node:crypto in Node
 * (shared/access/signer.ts), WebCrypto in a browser (client/web.ts). Everything that decides
 * what is signed lives here, so a client signs what the authorizer checks, wherever it runs.
 * Imports nothing of Node or of the project.
 *
 * The payload is not signed (`x-amz-content-sha256: UNSIGNED-PAYLOAD`, as S3 allows): an HTTP
 * API authorizer never sees the body, so it could not check a payload hash.
 */
import { SignatureV4 } from '@smithy/signature-v4';

export const SERVICE = 'dsn';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** An access key's credentials, or a session's (with its token). */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type SourceData = string | ArrayBuffer | ArrayBufferView;

/** A SHA-256 (no secret) or HMAC-SHA-256 (with one), in the shape the SDK's signer takes. */
export type Sha256Constructor = new (
  secret?: SourceData,
) => {
  update(data: SourceData): void;
  digest(): Promise<Uint8Array>;
  reset(): void;
};

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
export function signerWith(
  sha256: Sha256Constructor,
  credentials: Credentials,
  region: string,
): SignatureV4 {
  return new SignatureV4({ credentials, region, service: SERVICE, sha256, applyChecksum: false });
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

export function toHttpRequest(req: SignableRequest) {
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
 * The headers that sign a request to `url` (authorization, x-amz-date, x-amz-content-sha256,
 * and x-amz-security-token for a session). Only `host` and the `x-amz-*` headers are signed:
 * the HTTP client adds others (content-length, user-agent) after signing.
 */
export async function signatureHeadersWith(
  sha256: Sha256Constructor,
  url: URL,
  method: string,
  credentials: Credentials,
  region: string,
  signingDate?: Date,
): Promise<Record<string, string>> {
  const signed = await signerWith(sha256, credentials, region).sign(
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
