import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { listPage } from '../../../infra/local/s3-key-order.ts';

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const objects = (keys: string[]) => keys.map((key) => ({ key }));

test('a listing comes in UTF-8 byte order: "-" and digits, upper case, "_", lower case, then beyond ASCII', () => {
  // Prepare: localeCompare would put "a" before "B", and "é" beside "e".
  const keys = ['v/a', 'v/é', 'v/_', 'v/B', 'v/-', 'v/9', 'v/Z', 'v/z', 'v/😀', 'v/\uffee'];

  // Act
  const page = listPage(objects(keys), { prefix: 'v/' });

  // Assess
  assert.deepEqual(
    page.objects.map((o) => o.key),
    ['v/-', 'v/9', 'v/B', 'v/Z', 'v/_', 'v/a', 'v/z', 'v/é', 'v/\uffee', 'v/😀'],
  );
  assert.equal(page.isTruncated, false);
});

test('a page that ends at "a" leaves "B" for no page: paged on as fauxqs pages, every key comes once', () => {
  // Prepare
  const keys = ['a', 'B', 'c'];

  // Act: fauxqs's next page starts after the last key of the one before.
  const first = listPage(objects(keys), { maxKeys: 1 });
  const rest = listPage(objects(keys), { startAfter: first.objects.at(-1)?.key as string });

  // Assess
  assert.deepEqual(
    [...first.objects, ...rest.objects].map((o) => o.key),
    ['B', 'a', 'c'],
  );
});

test('with a delimiter, the keys under one prefix give it once, counted once toward the page', () => {
  // Act
  const page = listPage(objects(['a/1', 'a/2', 'a/3', 'b']), { delimiter: '/', maxKeys: 2 });

  // Assess
  assert.deepEqual(page.commonPrefixes, ['a/']);
  assert.deepEqual(
    page.objects.map((o) => o.key),
    ['b'],
  );
  assert.equal(page.isTruncated, false);
});

/** Pages through `keys` as fauxqs's ListObjectsV2 does, from its token rule. */
function pageThrough(
  keys: string[],
  opts: { prefix: string; delimiter?: string; maxKeys: number },
) {
  const listed: string[] = [];
  const prefixes: string[] = [];
  let startAfter = '';
  for (let pages = 0; pages <= keys.length + 1; pages++) {
    const page = listPage(objects(keys), { ...opts, startAfter });
    listed.push(...page.objects.map((o) => o.key));
    prefixes.push(...page.commonPrefixes);
    if (!page.isTruncated) return { listed, prefixes };
    // The continuation token's key: the page's last key, or its last prefix when it has none.
    startAfter = page.objects.at(-1)?.key ?? (page.commonPrefixes.at(-1) as string);
    assert.ok(page.objects.length + page.commonPrefixes.length > 0, 'a truncated page is empty');
  }
  throw new Error('the listing never ended');
}

test('paged through at any page size, with or without a delimiter, each key and prefix comes once, in byte order', () => {
  const key = fc
    .array(fc.constantFrom('a', 'B', '_', '-', '9', '/', 'é', '😀', 'Z', 'z'), {
      minLength: 1,
      maxLength: 5,
    })
    .map((cs) => cs.join(''));
  fc.assert(
    fc.property(
      fc.uniqueArray(key, { maxLength: 25 }),
      fc.integer({ min: 1, max: 4 }),
      fc.boolean(),
      fc.constantFrom('', 'a', 'B/', '_'),
      (keys, maxKeys, delimited, prefix) => {
        // Reference: under the prefix, each key, or its part up to the first "/" after the prefix.
        const under = keys.filter((k) => k.startsWith(prefix));
        const rolled = under.map((k) => {
          const cut = delimited ? k.indexOf('/', prefix.length) : -1;
          return cut < 0 ? { key: k } : { prefix: k.slice(0, cut + 1) };
        });
        const expectedKeys = rolled
          .flatMap((r) => (r.key === undefined ? [] : [r.key]))
          .sort(byBytes);
        const expectedPrefixes = [
          ...new Set(rolled.flatMap((r) => (r.prefix === undefined ? [] : [r.prefix]))),
        ].sort(byBytes);

        const { listed, prefixes } = pageThrough(keys, {
          prefix,
          maxKeys,
          ...(delimited ? { delimiter: '/' } : {}),
        });

        assert.deepEqual(listed, expectedKeys);
        assert.deepEqual(prefixes, expectedPrefixes);
      },
    ),
  );
});
