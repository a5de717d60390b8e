/**
 * S3 lists keys in the order of their UTF-8 bytes: `B` before `_` before `a`. fauxqs 2.4 sorts
 * them with `localeCompare` (`a` before `B`) and then pages on with a plain `<=` against the
 * start-after key, so the two orders disagree at every page boundary. With mixed-case keys
 * (slice names are base64url) a listing longer than a page skips keys for good: after a page
 * that ends at `a`, the next one drops `B` as "already listed". A repair or a vault's deletion
 * that lists a unit's bucket would then miss slices.
 *
 * fauxqs's store answers ListObjects (v1 and v2) from one method, `listObjects`; this replaces it
 * with the same rules in S3's order: contents and common prefixes by UTF-8 bytes, start-after
 * (or the continuation token's key, or the marker) compared the same way, and common prefixes
 * counted toward the page as S3 counts them. It also keeps a page's prefixes from being listed
 * twice (see `listPage`). Written here because fauxqs's listing is the one place that sorts.
 */
import { fauxqsModule } from './fauxqs-module.ts';
import { patchOnce } from './patch-once.ts';

interface Listed {
  key: string;
}

interface ListOptions {
  prefix?: string;
  delimiter?: string;
  maxKeys?: number;
  startAfter?: string;
  marker?: string;
}

interface ListResult<T> {
  objects: T[];
  commonPrefixes: string[];
  isTruncated: boolean;
}

/**
 * One page of `objects` (a bucket's keys, in any order) as S3 lists it. The same rules as
 * fauxqs's own `listObjects`, in S3's key order.
 */
export function listPage<T extends Listed>(
  objects: Iterable<T>,
  options: ListOptions = {},
): ListResult<T> {
  const prefix = options.prefix ?? '';
  const delimiter = options.delimiter || undefined;
  const maxKeys = options.maxKeys ?? 1000;
  const after = Buffer.from(options.startAfter || options.marker || '', 'utf8');
  const isAfter = (bytes: Buffer) => after.length === 0 || Buffer.compare(bytes, after) > 0;
  const sorted = [...objects]
    .filter((o) => o.key.startsWith(prefix))
    .map((o) => ({ o, bytes: Buffer.from(o.key, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  const result: T[] = [];
  const commonPrefixes: string[] = [];
  let isTruncated = false;
  for (const { o, bytes } of sorted) {
    if (!isAfter(bytes)) continue;
    const rest = o.key.slice(prefix.length);
    const cut = delimiter === undefined ? -1 : rest.indexOf(delimiter);
    if (cut >= 0) {
      const common = prefix + rest.slice(0, cut + (delimiter as string).length);
      // The keys under one prefix come together in byte order: it is listed at the first. A
      // prefix the last page ended on was listed there, with every key under it.
      if (common === commonPrefixes.at(-1) || !isAfter(Buffer.from(common, 'utf8'))) continue;
      if (result.length + commonPrefixes.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      commonPrefixes.push(common);
      continue;
    }
    if (result.length + commonPrefixes.length >= maxKeys) {
      isTruncated = true;
      break;
    }
    result.push(o);
  }
  // fauxqs's next page starts after the page's last key, or its last prefix when it has no key.
  // Prefixes listed after the last key would then come again: they wait for the next page (S3
  // too may answer fewer entries than max-keys).
  const last = result.at(-1);
  if (isTruncated && last !== undefined) {
    const lastBytes = Buffer.from(last.key, 'utf8');
    return {
      objects: result,
      commonPrefixes: commonPrefixes.filter(
        (p) => Buffer.compare(Buffer.from(p, 'utf8'), lastBytes) < 0,
      ),
      isTruncated,
    };
  }
  return { objects: result, commonPrefixes, isTruncated };
}

/** Makes fauxqs's S3 store list in S3's order (once per process). */
export async function listInS3KeyOrder(): Promise<void> {
  const { S3Store } = (await fauxqsModule('./s3/s3Store.js')) as {
    S3Store: {
      prototype: { listObjects(bucket: string, options?: ListOptions): ListResult<Listed> };
    };
  };
  patchOnce(
    S3Store.prototype,
    's3-key-order',
    ['listObjects'],
    (original) =>
      function (
        this: { buckets: Map<string, Map<string, Listed>> },
        bucket: string,
        options?: ListOptions,
      ) {
        const objects = this.buckets.get(bucket);
        // fauxqs answers a bucket that is not there (NoSuchBucket) as S3 does.
        if (!objects) return original.call(this, bucket, options);
        return listPage(objects.values(), options);
      },
  );
}
