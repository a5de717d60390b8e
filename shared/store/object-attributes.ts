/**
 * What a writer says about an object besides its bytes, kept with its revision and returned on
 * every read: `content-type`, `content-disposition` and user metadata (`x-dsn-meta-*`), as S3
 * keeps `Content-Type` and `x-amz-meta-*`. And the preconditions of a conditional write
 * (`If-Match`, `If-None-Match: *`), which the index checks in the same conditional write that
 * makes the revision visible (see `ObjectIndex.publish`).
 */
import { InvalidParameterError, PreconditionFailedError } from '../errors.ts';

/** What answers about an object tell of it: an index entry has these (ports.ts imports this file). */
interface ObjectFacts {
  revision: string;
  sha256: string;
  size: number;
  committedAt: string;
  attributes?: ObjectAttributes;
}

/** Bytes of user metadata (names without the prefix, plus values) one object may carry. */
export const MAX_META_BYTES = 2048;

/** Header prefix of user metadata. */
export const META_PREFIX = 'x-dsn-meta-';

const MAX_CONTENT_TYPE_CHARS = 256;
const MAX_DISPOSITION_CHARS = 1024;

export interface ObjectAttributes {
  contentType?: string;
  contentDisposition?: string;
  /** User metadata by lower-case name (without `x-dsn-meta-`). */
  meta?: Record<string, string>;
}

/** What must hold, when the revision becomes visible, for a conditional write to win. */
export type Precondition =
  /** The key's live object has this SHA-256 (its ETag); `*`: any live object. */
  | { ifMatch: string }
  /** The key holds no live object. */
  | { ifNoneMatch: '*' };

// Visible ASCII and spaces: what a header value may safely carry back unchanged.
const HEADER_TEXT = /^[\x20-\x7e]*$/;
const META_NAME = /^[a-z0-9][a-z0-9-]*$/;

function headerText(field: string, value: string, max: number): string {
  if (!HEADER_TEXT.test(value))
    throw new InvalidParameterError(field, 'must be printable ASCII (0x20-0x7E)');
  if (value.length > max)
    throw new InvalidParameterError(
      field,
      `must be at most ${max} characters, got ${value.length}`,
    );
  return value;
}

/**
 * The attributes a PUT's headers give (lower-case names, as API Gateway passes them).
 * @throws InvalidParameterError naming the header and the rule.
 */
export function parseObjectAttributes(
  headers: Record<string, string | undefined>,
): ObjectAttributes {
  const attributes: ObjectAttributes = {};
  const type = headers['content-type'];
  if (type !== undefined && type !== '')
    attributes.contentType = headerText('content-type', type, MAX_CONTENT_TYPE_CHARS);
  const disposition = headers['content-disposition'];
  if (disposition !== undefined && disposition !== '')
    attributes.contentDisposition = headerText(
      'content-disposition',
      disposition,
      MAX_DISPOSITION_CHARS,
    );
  const meta: Record<string, string> = {};
  let bytes = 0;
  for (const [header, value] of Object.entries(headers)) {
    const lower = header.toLowerCase();
    if (!lower.startsWith(META_PREFIX) || value === undefined) continue;
    const name = lower.slice(META_PREFIX.length);
    if (!META_NAME.test(name))
      throw new InvalidParameterError(
        header,
        'a metadata name after x-dsn-meta- must be lower-case letters, digits and "-"',
      );
    meta[name] = headerText(header, value, MAX_META_BYTES);
    bytes += name.length + value.length;
  }
  if (bytes > MAX_META_BYTES)
    throw new InvalidParameterError(
      'x-dsn-meta-*',
      `user metadata must be at most ${MAX_META_BYTES} bytes (names and values), got ${bytes}`,
    );
  if (Object.keys(meta).length > 0) attributes.meta = meta;
  return attributes;
}

/**
 * The attributes a JSON body gives (`contentType`, `contentDisposition`, `meta`: a staged or
 * presigned upload's), under the rules of the PUT headers, with errors naming the body fields.
 * @throws InvalidParameterError
 */
export function attributesFromFields(fields: {
  contentType?: string;
  contentDisposition?: string;
  meta?: Record<string, string>;
}): ObjectAttributes {
  const headers: Record<string, string | undefined> = {
    'content-type': fields.contentType,
    'content-disposition': fields.contentDisposition,
  };
  for (const [name, value] of Object.entries(fields.meta ?? {})) {
    if (name.length === 0 || name.toLowerCase() !== name || !META_NAME.test(name))
      throw new InvalidParameterError(
        `meta.${name}`,
        'a metadata name must be lower-case letters, digits and "-"',
      );
    headers[META_PREFIX + name] = value;
  }
  try {
    return parseObjectAttributes(headers);
  } catch (err) {
    if (!(err instanceof InvalidParameterError)) throw err;
    const field =
      err.field === 'content-type'
        ? 'contentType'
        : err.field === 'content-disposition'
          ? 'contentDisposition'
          : err.field === 'x-dsn-meta-*'
            ? 'meta'
            : `meta.${err.field.slice(META_PREFIX.length)}`;
    throw new InvalidParameterError(field, err.rule, { cause: err });
  }
}

/** The response headers of an object's attributes; `application/octet-stream` by default. */
export function attributeHeaders(entry: Pick<ObjectFacts, 'attributes'>): Record<string, string> {
  const a = entry.attributes ?? {};
  const headers: Record<string, string> = {
    'content-type': a.contentType ?? 'application/octet-stream',
  };
  if (a.contentDisposition) headers['content-disposition'] = a.contentDisposition;
  for (const [name, value] of Object.entries(a.meta ?? {})) headers[META_PREFIX + name] = value;
  return headers;
}

/**
 * The headers every answer about an object carries (GET, HEAD, 304, and the reader function's
 * streamed GET); the length and content-range are the answer's own.
 */
export function objectHeaders(entry: ObjectFacts): Record<string, string> {
  return {
    ...attributeHeaders(entry),
    'x-dsn-revision': entry.revision,
    'x-dsn-sha256': entry.sha256,
    'x-dsn-size': String(entry.size),
    etag: `"${entry.sha256}"`,
    'accept-ranges': 'bytes',
    'last-modified': new Date(entry.committedAt).toUTCString(),
  };
}

/** An ETag as headers carry it: `"<sha256>"`, or `W/"<sha256>"`, which compares the same. */
function etagValue(tag: string): string {
  return tag
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The precondition of a PUT's `If-Match` / `If-None-Match` headers, if any. `If-Match` takes
 * one ETag or `*`; `If-None-Match` takes only `*` on a write (as S3's conditional writes).
 * @throws InvalidParameterError naming the header and the rule.
 */
export function parsePrecondition(
  headers: Record<string, string | undefined>,
): Precondition | undefined {
  const ifMatch = headers['if-match'];
  const ifNoneMatch = headers['if-none-match'];
  if (ifMatch !== undefined && ifNoneMatch !== undefined)
    throw new InvalidParameterError('if-match', 'must not be sent with if-none-match');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*')
      throw new InvalidParameterError(
        'if-none-match',
        `on a PUT must be "*", got "${ifNoneMatch}"`,
      );
    return { ifNoneMatch: '*' };
  }
  if (ifMatch === undefined) return undefined;
  if (ifMatch.trim() === '*') return { ifMatch: '*' };
  const tag = etagValue(ifMatch);
  if (!SHA256_HEX.test(tag))
    throw new InvalidParameterError(
      'if-match',
      `must be "*" or one ETag as GET returns it ("<64 hex digits>"), got "${ifMatch}"`,
    );
  return { ifMatch: tag };
}

/** Whether `current` (the key's live entry, if any) satisfies `precondition`. */
export function preconditionHolds(
  precondition: Precondition,
  current: Pick<ObjectFacts, 'sha256'> | undefined,
): boolean {
  if ('ifNoneMatch' in precondition) return current === undefined;
  if (!current) return false;
  return precondition.ifMatch === '*' || precondition.ifMatch === current.sha256;
}

/** The rule a failed precondition broke, for the 412's message. */
export function preconditionRule(precondition: Precondition): string {
  return 'ifNoneMatch' in precondition
    ? 'If-None-Match: * failed: the key holds an object'
    : precondition.ifMatch === '*'
      ? 'If-Match: * failed: the key holds no object'
      : `If-Match failed: the object is no longer "${precondition.ifMatch}" (it changed or was deleted)`;
}

/** @throws PreconditionFailedError unless `current` satisfies `precondition`. */
export function checkPrecondition(
  key: string,
  precondition: Precondition | undefined,
  current: Pick<ObjectFacts, 'sha256'> | undefined,
): void {
  if (precondition && !preconditionHolds(precondition, current))
    throw new PreconditionFailedError(key, preconditionRule(precondition));
}

/** The object's Last-Modified in whole seconds (epoch ms), as its header says it. */
function lastModifiedSecond(entry: Pick<ObjectFacts, 'committedAt'>): number {
  return Math.floor(Date.parse(entry.committedAt) / 1000) * 1000;
}

/** An HTTP date as epoch ms; undefined for a date that does not parse (the header is then ignored). */
function httpDate(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * A read's preconditions, in the order RFC 9110 (13.2.2) evaluates them, as S3 does for GET and
 * HEAD: `If-Match` (else `If-Unmodified-Since`) that fails refuses the read with 412;
 * `If-None-Match` (else `If-Modified-Since`) that says the client's copy is current answers 304.
 * ETags compare strongly for `If-Match`; dates to the second, as Last-Modified is sent.
 * @returns 'not-modified' for a 304; undefined to read on
 * @throws PreconditionFailedError
 */
export function readPrecondition(
  headers: Record<string, string | undefined>,
  key: string,
  entry: Pick<ObjectFacts, 'sha256' | 'committedAt'>,
): 'not-modified' | undefined {
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    const holds = ifMatch
      .split(',')
      .map((t) => t.trim())
      .some((t) => t === '*' || (!t.startsWith('W/') && etagValue(t) === entry.sha256));
    if (!holds)
      throw new PreconditionFailedError(key, 'If-Match failed: the object has another ETag');
  } else {
    const since = httpDate(headers['if-unmodified-since']);
    if (since !== undefined && lastModifiedSecond(entry) > since)
      throw new PreconditionFailedError(
        key,
        'If-Unmodified-Since failed: the object changed since',
      );
  }
  if (headers['if-none-match'] !== undefined)
    return noneMatch(headers['if-none-match'], entry.sha256) ? 'not-modified' : undefined;
  const since = httpDate(headers['if-modified-since']);
  if (since !== undefined && lastModifiedSecond(entry) <= since) return 'not-modified';
  return undefined;
}

/**
 * Whether a Range applies under its `If-Range` (RFC 9110, 13.1.5): an ETag that is the object's
 * (strongly), or a date that is its Last-Modified exactly. When it does not, the whole object is
 * sent (200), never a part of another version than the client holds.
 */
export function rangeApplies(
  ifRange: string | undefined,
  entry: Pick<ObjectFacts, 'sha256' | 'committedAt'>,
): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"')) return etagValue(value) === entry.sha256;
  if (value.startsWith('W/')) return false;
  return httpDate(value) === lastModifiedSecond(entry);
}

/**
 * Whether a GET's `If-None-Match` names the object's ETag (or is `*`): then the client's copy
 * is current, and the answer is 304.
 */
export function noneMatch(header: string | undefined, sha256: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => t.trim() === '*' || etagValue(t) === sha256);
}
