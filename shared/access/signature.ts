/**
 * Checking a request's SigV4 signature, in either form: the `Authorization` header, or a
 * presigned query string (`X-Amz-Signature`, with `X-Amz-Expires`). The signature is
 * recomputed with the SDK's signer over the same canonical request (signer.ts) and compared in
 * constant time. Every failure is an UnauthenticatedError (401).
 */
import { timingSafeEqual } from 'node:crypto';
import { UnauthenticatedError } from '../errors.ts';
import {
  type Credentials,
  expectedHeaderSignature,
  expectedPresignedSignature,
  queryOf,
  SERVICE,
  type SignableRequest,
} from './signer.ts';

/** A signed request may be this far from the server's clock, either way (as S3 allows). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** The longest a presigned URL may live: 7 days, as S3's. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AUTH_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
];

/** RFC 3986's strict form: `encodeURIComponent` and `!'()*` too. */
function strictEncode(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The paths a client may have signed for the decoded `rawPath`: API Gateway hands the
 * authorizer the path percent-decoded, and the signature is over the path as the client sent
 * it. That is re-made by encoding each segment as clients do: `encodeURIComponent` (this
 * project's clients), RFC 3986's strict form (botocore and most SDKs), or not at all (a path
 * signed as typed). A path of unreserved characters is the same in all three. A path signed
 * half encoded (`a%20b:c`) cannot be re-made, and is refused.
 */
export function signedPaths(rawPath: string): string[] {
  const segments = rawPath.split('/');
  const paths = [
    segments.map(encodeURIComponent).join('/'),
    segments.map(strictEncode).join('/'),
    // A client that signed its path as typed (curl --aws-sigv4 with `:` or `@` in a key).
    rawPath,
  ];
  return [...new Set(paths)];
}

/** A request as the authorizer receives it: raw path and query, lower-case headers. */
export interface IncomingRequest {
  method: string;
  /**
   * The path as an HTTP API gives it: percent-decoded (API Gateway decodes `rawPath` before
   * the authorizer sees it; the local cloud does the same).
   */
  rawPath: string;
  rawQueryString: string;
  headers: Record<string, string | undefined>;
}

/** What a request claims about its signer, before the signature is checked. */
export interface SignatureClaim {
  accessKeyId: string;
  sessionToken?: string;
  signingDate: Date;
  presigned: boolean;
  signedHeaders: string[];
  signature: string;
  expiresInSeconds?: number;
}

function unauthenticated(code: string, message: string): UnauthenticatedError {
  return new UnauthenticatedError(code, message);
}

/** `20261201T193000Z` as a Date, or undefined. */
function parseAmzDate(value: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
}

/** Checks `Credential=ID/DATE/REGION/dsn/aws4_request` against the deployment and the date. */
function parseCredential(value: string, date: Date, region: string): string {
  const parts = value.split('/');
  const [id, day, credRegion, service, terminator] = parts;
  if (parts.length !== 5 || !id || terminator !== 'aws4_request')
    throw unauthenticated('InvalidSignature', 'the credential scope is malformed');
  if (service !== SERVICE)
    throw unauthenticated(
      'InvalidSignature',
      `the credential scope names service "${service}", not "${SERVICE}"`,
    );
  if (credRegion !== region)
    throw unauthenticated(
      'InvalidSignature',
      `the credential scope names region "${credRegion}", not "${region}"`,
    );
  if (day !== date.toISOString().slice(0, 10).replaceAll('-', ''))
    throw unauthenticated('InvalidSignature', 'the credential scope date is not the signing date');
  return id;
}

/**
 * Reads who claims to have signed `req`, and checks the time: a header signature within 15
 * minutes of `now`, a presigned URL not yet expired.
 * @throws UnauthenticatedError when unsigned, malformed, skewed or expired
 */
export function parseSignature(req: IncomingRequest, region: string, now: number): SignatureClaim {
  const params = new URLSearchParams(req.rawQueryString);
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
        authorization.trim(),
      );
    if (!m)
      throw unauthenticated(
        'InvalidSignature',
        `the Authorization header is not a ${ALGORITHM} signature`,
      );
    const signingDate = parseAmzDate(req.headers['x-amz-date']);
    if (!signingDate)
      throw unauthenticated('InvalidSignature', 'x-amz-date is missing or malformed');
    if (Math.abs(now - signingDate.getTime()) > MAX_CLOCK_SKEW_MS)
      throw unauthenticated(
        'RequestTimeTooSkewed',
        `the request was signed at ${signingDate.toISOString()}, more than 15 minutes from the server's time`,
      );
    return {
      accessKeyId: parseCredential(m[1] as string, signingDate, region),
      sessionToken: req.headers['x-amz-security-token'],
      signingDate,
      presigned: false,
      signedHeaders: (m[2] as string).split(';'),
      signature: m[3] as string,
    };
  }
  if (params.has('X-Amz-Signature')) {
    if (params.get('X-Amz-Algorithm') !== ALGORITHM)
      throw unauthenticated('InvalidSignature', `X-Amz-Algorithm must be ${ALGORITHM}`);
    const signingDate = parseAmzDate(params.get('X-Amz-Date') ?? undefined);
    if (!signingDate)
      throw unauthenticated('InvalidSignature', 'X-Amz-Date is missing or malformed');
    const expires = Number(params.get('X-Amz-Expires'));
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_SECONDS)
      throw unauthenticated(
        'InvalidSignature',
        `X-Amz-Expires must be 1..${MAX_PRESIGN_SECONDS} seconds`,
      );
    if (signingDate.getTime() - now > MAX_CLOCK_SKEW_MS)
      throw unauthenticated(
        'RequestTimeTooSkewed',
        'the URL was signed more than 15 minutes in the future',
      );
    if (now > signingDate.getTime() + expires * 1000)
      throw unauthenticated(
        'RequestExpired',
        `the presigned URL expired at ${new Date(signingDate.getTime() + expires * 1000).toISOString()}`,
      );
    return {
      accessKeyId: parseCredential(params.get('X-Amz-Credential') ?? '', signingDate, region),
      sessionToken: params.get('X-Amz-Security-Token') ?? undefined,
      signingDate,
      presigned: true,
      signedHeaders: (params.get('X-Amz-SignedHeaders') ?? '').split(';'),
      signature: params.get('X-Amz-Signature') ?? '',
      expiresInSeconds: expires,
    };
  }
  throw unauthenticated(
    'MissingAuthentication',
    'the request is not signed (AWS Signature Version 4, service dsn)',
  );
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Recomputes the signature of `req` with `credentials` and compares it with the claim's.
 * @throws UnauthenticatedError `InvalidSignature` when they differ or a signed header is absent
 */
export async function verifySignature(
  req: IncomingRequest,
  claim: SignatureClaim,
  credentials: Credentials,
  region: string,
): Promise<void> {
  const headers: Record<string, string> = {};
  for (const name of claim.signedHeaders) {
    const value = req.headers[name];
    if (value === undefined)
      throw unauthenticated('InvalidSignature', `signed header "${name}" is not in the request`);
    headers[name] = value;
  }
  const host = headers.host;
  if (host === undefined)
    throw unauthenticated('InvalidSignature', 'the host header must be signed');
  const params = new URLSearchParams(req.rawQueryString);
  if (claim.presigned) for (const p of AUTH_PARAMS) params.delete(p);
  let ok = false;
  for (const path of signedPaths(req.rawPath)) {
    ok = await signatureHolds({ method: req.method, host, path, query: queryOf(params), headers });
    if (ok) break;
  }
  async function signatureHolds(request: SignableRequest): Promise<boolean> {
    if (claim.presigned) {
      const expected = await expectedPresignedSignature(
        request,
        credentials,
        region,
        claim.signingDate,
        claim.expiresInSeconds as number,
      );
      return sameText(expected.signature, claim.signature);
    }
    const { authorization } = await expectedHeaderSignature(
      request,
      credentials,
      region,
      claim.signingDate,
    );
    return sameText(authorization, req.headers.authorization?.trim() ?? '');
  }
  if (!ok)
    throw unauthenticated(
      'InvalidSignature',
      'the signature does not match: check the secret key and how the request was signed',
    );
}
