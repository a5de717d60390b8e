import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InvalidParameterError } from '../../../shared/errors.ts';
import { compareKeys, validateKey, validateKeyPrefix } from '../../../shared/store/object-key.ts';

test('UTF-8 paths up to 1024 bytes are valid keys', () => {
  for (const key of [
    'a',
    'dir/sub/file.txt',
    'é/日本/🙂',
    'x'.repeat(1024),
    'a..b/.hidden',
    'trail/',
  ]) {
    assert.equal(validateKey(key), key);
  }
});

test('invalid keys are refused with the rule', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['', /must not be empty/],
    [undefined, /must not be empty/],
    ['x'.repeat(1025), /at most 1024 bytes of UTF-8, got 1025/],
    ['é'.repeat(513), /got 1026/],
    ['a\nb', /control characters/],
    ['a\u0000b', /control characters/],
    ['a/../b', /"\.\." path segments/],
    ['..', /"\.\." path segments/],
    ['a/./b', /"\." path segments/],
    ['bad\ud800', /valid UTF-8/],
    // A leading "/" was once accepted: `/a` and `a` would be two keys for one path.
    ['/lead', /must not start with "\/"/],
    ['/', /must not start with "\/"/],
    ['a//b', /must not contain empty path segments \("\/\/"\)/],
    ['a/b//', /empty path segments/],
    ['evil\u202Etxt.exe', /must not contain bidirectional controls/],
    ['a\u2066b\u2069', /bidirectional controls/],
    ['\u200Fa', /bidirectional controls/],
    ['a\u061Cb', /bidirectional controls/],
    [{ toString: null }, /must not be empty/],
  ];
  for (const [key, rule] of cases) {
    assert.throws(
      () => validateKey(key),
      (err: Error) =>
        err instanceof InvalidParameterError && err.field === 'key' && rule.test(err.message),
      JSON.stringify(key),
    );
  }
});

test('a key is returned in NFC, so its composed and decomposed spellings are one key', () => {
  const composed = 'caf\u00e9/r\u00e9sum\u00e9.txt';
  const decomposed = 'cafe\u0301/re\u0301sume\u0301.txt';
  assert.equal(validateKey(decomposed), composed);
  assert.equal(validateKey(composed), composed);
  // Hangul jamo compose to one syllable.
  assert.equal(validateKey('\u1100\u1161'), '\uac00');
});

test('a key is measured in NFC, as it is stored', () => {
  // 511 decomposed é are 1533 bytes, composed 1022: within the limit.
  assert.equal(validateKey('e\u0301'.repeat(511)), '\u00e9'.repeat(511));
  // U+0958 is excluded from composition: NFC spells it as two characters, 6 bytes instead of 3.
  assert.throws(() => validateKey('\u0958'.repeat(200)), /at most 1024 bytes of UTF-8, got 1200/);
});

test('a listing prefix is NFC like the keys, and empty when absent', () => {
  assert.equal(validateKeyPrefix('cafe\u0301'), 'caf\u00e9');
  assert.equal(validateKeyPrefix(undefined), '');
  assert.equal(validateKeyPrefix(''), '');
  assert.throws(() => validateKeyPrefix('x'.repeat(1025)), /prefix: must be at most 1024 bytes/);
  assert.throws(() => validateKeyPrefix('a\ud800'), /prefix: must be valid UTF-8/);
  assert.throws(() => validateKeyPrefix(['a']), /prefix: must be a string/);
});

/** A string with the characters keys go wrong on mixed into ordinary ones. */
const keyLike = fc
  .array(
    fc.oneof(
      fc.constantFrom('a', 'é', 'e\u0301', '/', '.', '..', '\u202E', '\u2066', '\n', '\u0000'),
      fc.constantFrom('\ud800', '\udc00', '🙂', '\u0958', '\u1100\u1161', '\ufeff', '%', '\\'),
      fc.string({ unit: 'grapheme', maxLength: 4 }),
      fc.string({ unit: 'binary', maxLength: 4 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

test('any string is either a valid key, in NFC and within every rule, or an InvalidParameterError', () => {
  fc.assert(
    fc.property(fc.oneof(keyLike, fc.string({ unit: 'binary' }), fc.anything()), (input) => {
      let key: string;
      try {
        key = validateKey(input);
      } catch (err) {
        assert.ok(err instanceof InvalidParameterError, String(err));
        assert.equal(err.field, 'key');
        return;
      }
      assert.equal(typeof input, 'string');
      assert.equal(key, (input as string).normalize('NFC'));
      assert.equal(validateKey(key), key, 'validating twice changes nothing');
      assert.ok(key.length > 0 && key.isWellFormed());
      assert.ok(Buffer.byteLength(key) <= 1024);
      assert.doesNotMatch(key, /\p{Cc}|\p{Bidi_Control}|^\/|\/\/|(^|\/)\.\.?(\/|$)/u);
    }),
    { seed: 5, numRuns: 2000 },
  );
});

test('keys order by their UTF-8 bytes, as DynamoDB and S3 sort them, not by UTF-16 units', () => {
  const emoji = 'a/\u{1F600}';
  const privateUse = 'a/\uE000';
  // UTF-16 puts the emoji's surrogate (D83D) before E000; its UTF-8 (F0 ...) comes after EE.
  assert.ok(emoji < privateUse);
  assert.ok(compareKeys(emoji, privateUse) > 0);
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
      const sorted = [a, b].sort(compareKeys);
      const bytes = [a, b].map((k) => Buffer.from(k, 'utf8')).sort(Buffer.compare);
      assert.deepEqual(
        sorted.map((k) => Buffer.from(k, 'utf8')),
        bytes,
      );
    }),
  );
});
