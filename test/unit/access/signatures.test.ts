import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  BUILTIN_RULES,
  parseRules,
  type RuleSet,
  SignatureMatcher,
} from '../../../shared/access/index.ts';

/** The EICAR test file, built from hex so this source is not itself flagged. */
const EICAR = Buffer.from(
  '58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a',
  'hex',
);

/** Feeds `bytes` to a matcher in chunks cut at `cuts` (offsets), and returns what it found. */
function scan(rules: RuleSet, bytes: Uint8Array, cuts: number[] = []): string | undefined {
  const matcher = new SignatureMatcher(rules);
  const at = [...new Set([0, ...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length])];
  at.sort((a, b) => a - b);
  for (let i = 0; i + 1 < at.length; i++)
    matcher.update(bytes.subarray(at[i] as number, at[i + 1] as number));
  return matcher.finish();
}

test('the built-in rules catch the EICAR test file, whole and by its body pattern', () => {
  // Prepare
  const { rules, skipped } = parseRules(BUILTIN_RULES);
  const inside = Buffer.concat([Buffer.from('some prefix '), EICAR, Buffer.from(' suffix')]);

  // Act and assess
  assert.deepEqual(skipped, []);
  assert.equal(rules.hashes[0]?.hash, createHash('sha256').update(EICAR).digest('hex'));
  assert.equal(scan(rules, EICAR), 'Eicar-Test-Signature.body');
  assert.equal(scan({ hashes: rules.hashes, patterns: [] }, EICAR), 'Eicar-Test-Signature');
  assert.equal(scan(rules, inside), 'Eicar-Test-Signature.body');
  assert.equal(scan(rules, Buffer.from('hello, world')), undefined);
});

test('.hdb lines match by SHA-256 or MD5 and by size; a size of * matches any', () => {
  // Prepare
  const body = Buffer.from('quarterly report');
  const sha = createHash('sha256').update(body).digest('hex');
  const md5 = createHash('md5').update(body).digest('hex');
  const { rules, skipped } = parseRules(
    [`# hashes`, `${sha}:${body.length}:Sha.Exact`, '', `${md5.toUpperCase()}:*:Md5.Any`].join(
      '\n',
    ),
  );
  const wrongSize = parseRules(`${sha}:${body.length + 1}:Sha.Wrong`).rules;

  // Act and assess
  assert.deepEqual(skipped, []);
  assert.equal(rules.hashes.length, 2);
  assert.equal(scan(rules, body, [3, 9]), 'Sha.Exact');
  assert.equal(scan({ hashes: [rules.hashes[1] as never], patterns: [] }, body), 'Md5.Any');
  assert.equal(scan(wrongSize, body), undefined);
});

test('lines the matcher does not support are skipped with a reason naming what is wrong', () => {
  // Prepare
  const text = [
    `${'a'.repeat(40)}:10:Sha1.Sig`,
    'nothex:10:Bad.Hash',
    `${'b'.repeat(64)}:ten:Bad.Size`,
    'Pe.Sig:1:*:4d5a9000',
    'Eof.Sig:0:EOF-10:41424344',
    'Wild.Sig:0:*:4142??44',
    'Alt.Sig:0:*:41(42|43)44',
    'Short.Sig:0:*:41',
    'just some words',
    'Ok.Sig:0:*:41424344:73:255',
    'At.Sig:0:10:41424344',
  ].join('\n');

  // Act
  const { rules, skipped } = parseRules(text);

  // Assess
  assert.deepEqual(
    rules.patterns.map((p) => [p.name, p.offset]),
    [
      ['Ok.Sig', undefined],
      ['At.Sig', 10],
    ],
  );
  assert.deepEqual(
    skipped.map((s) => s.line),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  const reasons = skipped.map((s) => s.reason);
  assert.match(reasons[0] as string, /SHA-1/);
  assert.match(reasons[1] as string, /SHA-256/);
  assert.match(reasons[2] as string, /size/);
  assert.match(reasons[3] as string, /target 1/);
  assert.match(reasons[4] as string, /offset "EOF-10"/);
  assert.match(reasons[5] as string, /plain hex/);
  assert.match(reasons[6] as string, /plain hex/);
  assert.match(reasons[7] as string, /at least 2 bytes/);
  assert.match(reasons[8] as string, /neither an .hdb line/);
});

test('a pattern is found wherever chunk boundaries cut it, and only where it is', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 2, maxLength: 40 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.nat(300),
      fc.array(fc.nat(400), { maxLength: 12 }),
      (pattern, noise, where, cuts) => {
        // Prepare: the pattern put into the noise (or not, when `where` is past its end).
        const at = Math.min(where, noise.length + 1);
        const bytes =
          at > noise.length
            ? Buffer.from(noise)
            : Buffer.concat([noise.subarray(0, at), pattern, noise.subarray(at)]);
        const hex = Buffer.from(pattern).toString('hex');
        const { rules } = parseRules(`P:0:*:${hex}`);

        // Act
        const found = scan(rules, bytes, cuts);

        // Assess: the streamed answer is the whole buffer's.
        assert.equal(found, bytes.includes(Buffer.from(pattern)) ? 'P' : undefined);
      },
    ),
    { numRuns: 500 },
  );
});

test('a pattern at a fixed offset matches only there, across chunks', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 2, maxLength: 16 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.array(fc.nat(160), { maxLength: 10 }),
      fc.integer({ min: -2, max: 2 }),
      (pattern, before, after, cuts, shift) => {
        // Prepare: the rule says where the pattern starts, give or take `shift`.
        const bytes = Buffer.concat([before, pattern, after]);
        const offset = Math.max(0, before.length + shift);
        const hex = Buffer.from(pattern).toString('hex');
        const { rules } = parseRules(`At:0:${offset}:${hex}`);
        const there = Buffer.from(bytes.subarray(offset, offset + pattern.length));

        // Act
        const found = scan(rules, bytes, cuts);

        // Assess
        assert.equal(found, there.equals(Buffer.from(pattern)) ? 'At' : undefined);
      },
    ),
    { numRuns: 500 },
  );
});

test('EICAR split over many one-byte chunks is still found by its hash and its pattern', () => {
  const cuts = [...Array(EICAR.length).keys()];
  const { rules } = parseRules(BUILTIN_RULES);
  assert.equal(scan(rules, EICAR, cuts), 'Eicar-Test-Signature.body');
  assert.equal(scan({ hashes: rules.hashes, patterns: [] }, EICAR, cuts), 'Eicar-Test-Signature');
});

test('a digest stops once the object outgrew every sized hash signature of its algorithm', () => {
  // Prepare: the built-in hash names 68 bytes; an MD5 line of any size keeps MD5 going.
  const { rules } = parseRules(BUILTIN_RULES);
  const big = Buffer.alloc(1 << 20, 7);
  const anySize = parseRules(
    `${createHash('md5').update(big).digest('hex')}:*:Md5.Any\n${'0'.repeat(64)}:100:Sha.Small`,
  ).rules;
  const builtIn = new SignatureMatcher(rules);
  const mixed = new SignatureMatcher(anySize);

  // Act
  builtIn.update(big.subarray(0, 68));
  const at68 = builtIn.hashing;
  builtIn.update(big.subarray(68, 69));
  mixed.update(big.subarray(0, 64));
  mixed.update(big.subarray(64));

  // Assess
  assert.deepEqual(at68, ['sha256'], 'an object of exactly the named size is still hashed');
  assert.deepEqual(builtIn.hashing, [], 'past 68 bytes, no SHA-256 line can match');
  assert.equal(builtIn.finish(), undefined);
  assert.deepEqual(mixed.hashing, ['md5']);
  assert.equal(mixed.finish(), 'Md5.Any');
});

test('stopping a digest early never changes a verdict (against hashing the whole object)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 6 }),
      fc.array(fc.oneof(fc.constant('*'), fc.integer({ min: -2, max: 2 })), { maxLength: 4 }),
      fc.constantFrom('sha256', 'md5'),
      (body, cuts, sizes, algorithm) => {
        // Lines that name the body's own hash at sizes around its length, or any size.
        const hash = createHash(algorithm).update(body).digest('hex');
        const lines = sizes.map((s, i) => {
          const size = s === '*' ? '*' : String(Math.max(0, body.length + s));
          return `${hash}:${size}:Sig.${i}`;
        });
        const { rules } = parseRules(lines.join('\n'));
        const expected = rules.hashes.find(
          (h) => h.size === undefined || h.size === body.length,
        )?.name;
        assert.equal(scan(rules, body, cuts), expected);
      },
    ),
  );
});
