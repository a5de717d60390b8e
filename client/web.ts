/**
 * `@dsn/client` in a browser: the same DsnClient and Transport, signing with WebCrypto instead
 * of node:crypto (the web console uses it). Imports nothing of Node.
 */
import { type Credentials, type SourceData, signatureHeadersWith } from '../shared/access/sigv4.ts';
import { DsnClient } from './dsn-client.ts';
import { type RequestSigner, Transport, type TransportOptions } from './transport.ts';

export * from './dsn-client.ts';
export { DsnUnreachableError, type RequestSigner, Transport } from './transport.ts';

const encoder = new TextEncoder();

function bytesOf(data: SourceData): Uint8Array {
  if (typeof data === 'string') return encoder.encode(data);
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/**
 * SHA-256 and HMAC-SHA-256 over WebCrypto, in the shape the SDK's signer takes. WebCrypto
 * hashes whole messages only, so the chunks are kept until `digest` (signing hashes a canonical
 * request and short strings, never a payload: the payload is unsigned).
 */
export class WebSha256 {
  private readonly secret?: Uint8Array;
  private chunks: Uint8Array[] = [];
  constructor(secret?: SourceData) {
    if (secret !== undefined) this.secret = bytesOf(secret);
  }
  update(data: SourceData): void {
    this.chunks.push(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    const message = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      message.set(c, at);
      at += c.length;
    }
    if (this.secret === undefined)
      return new Uint8Array(await crypto.subtle.digest('SHA-256', message));
    const key = await crypto.subtle.importKey(
      'raw',
      this.secret as Uint8Array<ArrayBuffer>,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    return new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
  }
  reset(): void {
    this.chunks = [];
  }
}

export function webSigner(credentials: Credentials, region = 'us-east-1'): RequestSigner {
  return (url, method) => signatureHeadersWith(WebSha256, url, method, credentials, region);
}

/** A client for a page: `endpoint` is usually the page's own origin. */
export function createWebDsnClient(
  options: Omit<TransportOptions, 'signer'> & { credentials?: Credentials; region?: string },
): DsnClient {
  const { credentials, region, ...rest } = options;
  return new DsnClient(
    new Transport({ ...rest, ...(credentials ? { signer: webSigner(credentials, region) } : {}) }),
  );
}
