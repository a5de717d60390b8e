/**
 * What S3 checks of a client-side write that fauxqs 2.4 does not: a presigned URL's expiry and
 * signature (SigV4 query auth), and a PUT's `x-amz-checksum-crc32` against the bytes that came.
 * fauxqs accepts any request and stores whatever checksum it is told; clients that place slices
 * with presigned URLs (client-side dispersal) rely on S3 refusing an expired URL, a URL used
 * for another key, and corrupted bytes, so the local cloud refuses them here as S3 does:
 * 403 AccessDenied ("Request has expired"), 403 SignatureDoesNotMatch, 400 BadDigest.
 *
 * Requests signed in their headers (the SDK's) are not authenticated, as before: only presigned
 * ones are, with the credentials the local cloud gives its functions. The banner says so.
 */
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { fauxqsModule } from './fauxqs-module.ts';
import { interpose } from './interpose.ts';
import { patchOnce } from './patch-once.ts';
import { knownDigest } from './s3-digests.ts';
import { s3Target, sendS3Error } from './s3-http.ts';

/** RFC 3986 escaping, as SigV4 canonicalizes query parameters. */
function uriEscape(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `20261201T222908Z` as epoch ms; NaN when malformed. */
function amzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
}

const hmac = (key: Buffer | string, data: string) =>
  createHmac('sha256', key).update(data).digest();

/** The signature S3 expects for a presigned request, with the parameters as it came. */
function expectedSignature(
  req: IncomingMessage,
  rawQuery: string,
  secret: string,
  credential: string[],
): string {
  const [, date, region, service] = credential as [string, string, string, string];
  const params = rawQuery
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const at = p.indexOf('=');
      const name = decodeURIComponent(at === -1 ? p : p.slice(0, at));
      const value = at === -1 ? '' : decodeURIComponent(p.slice(at + 1).replace(/\+/g, ' '));
      return [uriEscape(name), uriEscape(value)] as const;
    })
    .filter(([name]) => name !== 'X-Amz-Signature')
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const query = new URLSearchParams(rawQuery);
  const signed = (query.get('X-Amz-SignedHeaders') ?? '').split(';');
  const headers = signed
    .map((h) => {
      const v = req.headers[h];
      return `${h}:${(Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonical = [
    req.method ?? 'GET',
    (req.url ?? '/').split('?')[0],
    params.map(([k, v]) => `${k}=${v}`).join('&'),
    headers,
    signed.join(';'),
    query.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = [
    'AWS4-HMAC-SHA256',
    query.get('X-Amz-Date') ?? '',
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex');
}

export interface PresignedChecks {
  /** Secret access keys by access key id: the ones the local cloud hands out. */
  secrets: { get(accessKeyId: string): string | undefined };
  now?: () => number;
}

/** Refuses presigned S3 requests that are expired or whose signature does not hold. */
export function installPresignedChecks(server: Server, opts: PresignedChecks): void {
  const now = opts.now ?? Date.now;
  interpose(server, (req, res, pass) => {
    const rawQuery = (req.url ?? '').split('?', 2)[1] ?? '';
    if (!rawQuery.includes('X-Amz-Signature=') || !s3Target(req)) return pass(req, res);
    const refuse = (status: number, code: string, message: string) => {
      req.resume();
      sendS3Error(res, status, code, message);
    };
    const query = new URLSearchParams(rawQuery);
    const credential = (query.get('X-Amz-Credential') ?? '').split('/');
    const signedAt = amzDate(query.get('X-Amz-Date') ?? '');
    const expires = Number(query.get('X-Amz-Expires') ?? 'NaN');
    if (credential.length !== 5 || !Number.isFinite(signedAt) || !Number.isInteger(expires))
      return refuse(400, 'AuthorizationQueryParametersError', 'malformed presigned URL');
    if (now() > signedAt + expires * 1000)
      return refuse(403, 'AccessDenied', 'Request has expired');
    const secret = opts.secrets.get(credential[0] as string);
    if (secret === undefined)
      return refuse(
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
      );
    let expected: string;
    try {
      expected = expectedSignature(req, rawQuery, secret, credential);
    } catch {
      return refuse(400, 'AuthorizationQueryParametersError', 'malformed presigned URL');
    }
    if (expected !== query.get('X-Amz-Signature'))
      return refuse(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
      );
    pass(req, res);
  });
}

interface ChecksumData {
  algorithm: string;
  value: string;
  /** COMPOSITE for a multipart object's checksum of checksums, which no body matches. */
  type?: string;
}

/**
 * fauxqs stores a PUT's `x-amz-checksum-crc32` (header or aws-chunked trailer) without
 * comparing it with the body; its store's putObject is where both are known, so the check goes
 * there, answering as S3 does (400 BadDigest) before anything is stored.
 */
export async function verifyPutChecksums(): Promise<void> {
  const [{ S3Store }, { computeChecksum }, { S3Error }] = (await Promise.all([
    fauxqsModule('./s3/s3Store.js'),
    fauxqsModule('./s3/checksum.js'),
    fauxqsModule('./common/errors.js'),
  ])) as [
    { S3Store: { prototype: { putObject(...a: unknown[]): unknown } } },
    { computeChecksum(algorithm: string, data: Buffer): string },
    { S3Error: new (code: string, message: string, status: number) => Error },
  ];
  patchOnce(
    S3Store.prototype,
    'put-checksums-verified',
    ['putObject'],
    (original) =>
      function (this: unknown, ...args: unknown[]) {
        const body = args[2] as Buffer;
        const checksum = args[6] as ChecksumData | undefined;
        if (
          checksum?.type === 'FULL_OBJECT' &&
          ['CRC32', 'SHA1', 'SHA256'].includes(checksum.algorithm) &&
          (knownDigest(body, checksum.algorithm) ?? computeChecksum(checksum.algorithm, body)) !==
            checksum.value
        )
          throw new S3Error(
            'BadDigest',
            `The ${checksum.algorithm} you specified did not match the calculated checksum.`,
            400,
          );
        return original.apply(this, args);
      },
  );
}
