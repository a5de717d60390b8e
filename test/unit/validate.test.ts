import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { InvalidParameterError } from '../../shared/errors.ts';
import {
  decimalInteger,
  integer,
  jsonDepth,
  MAX_JSON_DEPTH,
  nonEmptyString,
  parseJson,
  parseJsonWith,
  parseWith,
  preview,
  resourceId,
  strictObject,
} from '../../shared/validate.ts';

/** The field and the rule of the InvalidParameterError `fn` throws. */
function refusal(fn: () => unknown): { field: string; rule: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidParameterError, `not an InvalidParameterError: ${err}`);
    assert.equal(err.message, `${err.field}: ${err.rule}`);
    return { field: err.field, rule: err.rule };
  }
  assert.fail('accepted');
}

const slice = strictObject(
  { pillar: integer(0, 255), crc32: nonEmptyString(), data: z.string().optional() },
  'a slice field',
);
const message = strictObject(
  { v: z.literal(1), units: z.array(integer(0, 7)), slices: z.array(slice) },
  'a message field',
);
const good = { v: 1, units: [0, 3], slices: [{ pillar: 2, crc32: 'AAAAAA==' }] };

test('a good value comes back as the schema output', () => {
  assert.deepEqual(parseWith(message, good), good);
  assert.deepEqual(parseJsonWith(message, JSON.stringify(good)), good);
});

test('a field is named by its path: alone in a body, under the subject in a message', () => {
  const badUnit = { ...good, units: [0, 9] };
  const badCrc = { ...good, slices: [{ pillar: 2, crc32: '' }] };

  assert.deepEqual(
    refusal(() => parseWith(message, badUnit)),
    {
      field: 'units[1]',
      rule: 'must be between 0 and 7, got 9',
    },
  );
  assert.equal(refusal(() => parseWith(message, badCrc)).field, 'slices[0].crc32');
  assert.equal(
    refusal(() => parseJsonWith(message, JSON.stringify(badCrc))).field,
    'message.slices[0].crc32',
  );
  assert.equal(
    refusal(() => parseWith(message, badUnit, { name: 'status', qualified: true })).field,
    'status.units[1]',
  );
  // A rule about the whole value names the subject.
  assert.deepEqual(
    refusal(() => parseWith(message, [])),
    {
      field: 'body',
      rule: 'must be a JSON object, got []',
    },
  );
  assert.equal(refusal(() => parseWith(message, 'x', { name: 'vault' })).field, 'vault');
});

test('an unknown key is refused by name, with the keys that are known, before anything else', () => {
  // A misspelt field also leaves the real one missing: the misspelling is what to fix.
  const { v: _v, ...noV } = good;
  assert.deepEqual(
    refusal(() => parseWith(message, { ...noV, vv: 1 })),
    {
      field: 'vv',
      rule: 'is not a message field (known: v, units, slices)',
    },
  );
  assert.deepEqual(
    refusal(() => parseWith(message, { ...good, slices: [{ pillar: 1, crc32: 'x', dat: 'y' }] })),
    { field: 'slices[0].dat', rule: 'is not a slice field (known: pillar, crc32, data)' },
  );
  assert.match(
    refusal(() => parseWith(message, { ...good, a: 1, b: 2, c: 3 })).rule,
    /; nor are "b", "c"$/,
  );
});

test('wrong types are refused in plain words, with the value seen', () => {
  const cases: Array<[unknown, string, string]> = [
    [{ ...good, units: 'all' }, 'units', 'must be a list, got "all"'],
    [{ ...good, units: [0, '1'] }, 'units[1]', 'must be an integer, got "1"'],
    [{ ...good, units: [0, 1.5] }, 'units[1]', 'must be an integer, got 1.5'],
    [
      { ...good, slices: [{ pillar: 1, crc32: 7 }] },
      'slices[0].crc32',
      'must be a non-empty string, got 7',
    ],
    [
      { ...good, slices: [{ pillar: 1, crc32: 'x', data: false }] },
      'slices[0].data',
      'must be a string, got false',
    ],
    [{ ...good, v: 2 }, 'v', 'must be one of 1, got 2'],
    [{ units: [], slices: [] }, 'v', 'must be one of 1, got nothing'],
  ];
  for (const [value, field, rule] of cases) {
    assert.deepEqual(
      refusal(() => parseWith(message, value)),
      { field, rule },
      JSON.stringify(value),
    );
  }
});

test('odd values are refused as the wrong type, never a crash', () => {
  // `String()` throws on an object whose toString is null: nothing may call it.
  const odd = { toString: null };
  assert.deepEqual(
    refusal(() => parseWith(message, { ...good, units: [odd] })),
    {
      field: 'units[0]',
      rule: 'must be an integer, got {"toString":null}',
    },
  );
  assert.equal(refusal(() => parseWith(message, Object.create(null))).field, 'v');
  assert.deepEqual(
    refusal(() =>
      parseJsonWith(
        message,
        '{"v":1,"units":[],"slices":[{"pillar":0,"crc32":{"toString":null}}]}',
      ),
    ),
    { field: 'message.slices[0].crc32', rule: 'must be a non-empty string, got {"toString":null}' },
  );
  assert.equal(
    refusal(() => parseWith(message, { ...good, units: [10n] })).rule,
    'must be an integer, got 10',
  );
});

test('an integer beyond the safe range is out of range, not of the wrong type', () => {
  assert.equal(
    refusal(() => parseWith(integer(1, 8), 1e300, { name: 'width' })).rule,
    'must be between 1 and 8, got 1e+300',
  );
  assert.equal(
    refusal(() => parseWith(integer(1, 8, 'must be 1..8'), '3', { name: 'width' })).rule,
    'must be 1..8, got "3"',
  );
});

test('a text that is not JSON is refused naming the subject, with the parse error as cause', () => {
  for (const text of ['', '{', 'nope', '{"v":1,}']) {
    assert.throws(
      () => parseJsonWith(message, text),
      (err: unknown) =>
        err instanceof InvalidParameterError &&
        err.field === 'message' &&
        err.rule === `is not JSON, got ${JSON.stringify(text)}` &&
        err.cause instanceof SyntaxError,
      text,
    );
  }
  assert.equal(
    refusal(() => parseJsonWith(message, 'x', { name: 'job', notJson: 'must be JSON {"id"}' }))
      .rule,
    'must be JSON {"id"}, got "x"',
  );
  assert.equal(
    refusal(() => parseJsonWith(message, 'null')).rule,
    'must be a JSON object, got null',
  );
});

test('a rule that names the value seen itself is not followed by it again', () => {
  const version = z.literal(1, { error: (issue) => `unknown version ${preview(issue.input)}` });
  assert.equal(refusal(() => parseWith(version, 2, { name: 'v' })).rule, 'unknown version 2');
  const size = z.string().refine((s) => s.length < 3, { message: 'must be short, got 4 chars' });
  assert.equal(
    refusal(() => parseWith(size, 'abcd', { name: 's' })).rule,
    'must be short, got 4 chars',
  );
});

test('a value shown in an error is cut short, and shown even when JSON cannot', () => {
  assert.equal(preview('x'.repeat(200)), `"${'x'.repeat(79)}…`);
  assert.equal(preview(undefined), 'nothing');
  assert.equal(preview(Number.NaN), 'NaN');
  assert.equal(preview(12n), '12');
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.equal(preview(cycle), '[object Object]');
  assert.equal(preview({ a: 'b\nc' }), '{"a":"b\\nc"}');
});

test('a key that is not an identifier is quoted in the field path', () => {
  const map = z.record(z.string(), integer(0, 1));
  assert.equal(refusal(() => parseWith(map, { 'a b': 2 })).field, '["a b"]');
  assert.equal(
    refusal(() => parseWith(map, { 'a b': 2 }, { name: 'm', qualified: true })).field,
    'm["a b"]',
  );
});

test('a decimal parameter takes plain digits in range, and one spelling of each number', () => {
  const part = decimalInteger(1, 10_000);
  assert.equal(parseWith(part, '1', { name: 'part' }), 1);
  assert.equal(parseWith(part, '10000', { name: 'part' }), 10_000);
  for (const text of ['1e2', '0x1', ' 1', '1 ', '+1', '-1', '01', '1.0', '', '0', '10001', '١']) {
    assert.equal(
      refusal(() => parseWith(part, text, { name: 'part' })).rule,
      `must be an integer 1..10000, in plain decimal digits, got ${JSON.stringify(text)}`,
      JSON.stringify(text),
    );
  }
  assert.equal(
    refusal(() => parseWith(part, '9'.repeat(400), { name: 'part' })).field,
    'part',
    'past the safe integers',
  );
  assert.equal(
    refusal(() => parseWith(part, 3, { name: 'part' })).rule,
    'must be an integer 1..10000, in plain decimal digits, got 3',
    'a number is not a path parameter',
  );
});

test('a resource id is a bounded run of letters, digits, "-" and "_"', () => {
  const id = resourceId();
  for (const text of ['u-nope', 'mabc123_x', 'x'.repeat(128)]) {
    assert.equal(parseWith(id, text, { name: 'upload' }), text);
  }
  for (const text of ['', 'x'.repeat(129), 'r'.repeat(2100), 'a/b', 'a b', 'é', 'a%20']) {
    const { field, rule } = refusal(() => parseWith(id, text, { name: 'revision' }));
    assert.equal(field, 'revision');
    assert.match(rule, /^must be 1 to 128 letters, digits, "-" or "_", got /);
  }
});

test('the depth of a JSON text is counted without recursion, strings aside', () => {
  assert.equal(jsonDepth('1'), 0);
  assert.equal(jsonDepth('[]'), 1);
  assert.equal(jsonDepth('{"a":[1,{"b":[]}]}'), 4);
  assert.equal(jsonDepth('["[[[[", "\\"  , ""[["]'), 1);
  assert.equal(jsonDepth('['.repeat(1e6) + ']'.repeat(1e6)), 1e6);
  assert.equal(jsonDepth('['.repeat(1e6) + ']'.repeat(1e6), 10), 11, 'stops past the limit');
});

test('a JSON text nested past the limit is refused on its subject, one within it is parsed', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  assert.equal(jsonDepth(JSON.stringify(parseJson(nested(MAX_JSON_DEPTH), 'body'))), 64);
  for (const text of [
    nested(MAX_JSON_DEPTH + 1),
    nested(20_000),
    `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
  ]) {
    assert.deepEqual(
      refusal(() => parseJson(text, 'body')),
      {
        field: 'body',
        rule: `must nest at most ${MAX_JSON_DEPTH} deep`,
      },
    );
  }
  assert.equal(refusal(() => parseJsonWith(message, nested(20_000))).field, 'message');
  assert.equal(
    refusal(() => parseJson('{', 'body', 'must be valid JSON')).rule,
    'must be valid JSON, got "{"',
  );
});
