/**
 * Signing requests to the API in Node: shared/access/sigv4.ts over node:crypto. The CLI, the
 * SDK, the test helpers and the authorizer all sign and check here, so what a client signs is
 * what the authorizer checks. Imports nothing of the project but sigv4.ts, so the CLI may load
 * it alone.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { SignatureV4 } from '@smithy/signature-v4';
import {
  type Credentials,
  queryOf,
  type SignableRequest,
  type SourceData,
  signatureHeadersWith,
  signerWith,
  toHttpRequest,
} from './sigv4.ts';

export {
  type Credentials,
  queryOf,
  SERVICE,
  type Sha256Constructor,
  type SignableRequest,
  UNSIGNED_PAYLOAD,
} from './sigv4.ts';

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

/** The SDK's signer for `dsn`, over node:crypto. */
export function signerFor(credentials: Credentials, region: string): SignatureV4 {
  return signerWith(NodeSha256, credentials, region);
}

/** The headers that sign a request to `url` (see `signatureHeadersWith`), over node:crypto. */
export function signatureHeaders(
  url: URL,
  method: string,
  credentials: Credentials,
  region: string,
  signingDate?: Date,
): Promise<Record<string, string>> {
  return signatureHeadersWith(NodeSha256, url, method, credentials, region, signingDate);
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
