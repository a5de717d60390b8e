/**
 * The built-in ops over objects in memory, checked byte for byte: digest, compress and
 * decompress (gzip and zstd, with the expansion cap), grep, concat. Bodies arrive in small
 * chunks, so lines and streams cross chunk boundaries.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import {
  builtInOps,
  ExpansionCapError,
  GREP_TEXT_LIMIT,
  type ObjectAccess,
} from '../../../shared/work/index.ts';

function memoryObjects(initial: Record<string, Buffer>) {
  const objects = new Map(Object.entries(initial));
  const access: ObjectAccess = {
    async *list(prefix) {
      for (const key of [...objects.keys()].sort())
        if (key.startsWith(prefix)) yield { key, size: objects.get(key)?.length ?? 0 };
    },
    async open(key) {
      const bytes = objects.get(key);
      if (!bytes) throw new Error(`no ${key}`);
      return (async function* () {
        for (let i = 0; i < bytes.length; i += 1000) yield bytes.subarray(i, i + 1000);
        if (bytes.length === 0) yield bytes;
      })();
    },
    async write(key, body) {
      const parts: Buffer[] = [];
      for await (const chunk of body) parts.push(Buffer.from(chunk));
      objects.set(key, Buffer.concat(parts));
      return { size: objects.get(key)?.length ?? 0 };
    },
  };
  return { objects, access };
}

const ops = builtInOps();
const run = (op: string, access: ObjectAccess, args: unknown) =>
  ops.get(op).run({ vault: 'v', id: 'w000000000001', objects: access }, ops.parseArgs(op, args));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('work ops', () => {
  for (const codec of ['gzip', 'zstd'] as const) {
    test(`compress then decompress with ${codec} gives the bytes back, and the result sizes are right`, async () => {
      // Prepare
      const input = Buffer.concat([randomBytes(30_000), Buffer.alloc(50_000, 7)]);
      const { objects, access } = memoryObjects({ in: input });

      // Act
      const packed = await run('compress', access, { key: 'in', output: 'in.z', codec });
      const unpacked = await run('decompress', access, { key: 'in.z', output: 'back', codec });

      // Assess
      const z = objects.get('in.z') as Buffer;
      const plain = codec === 'gzip' ? zlib.gunzipSync(z) : zlib.zstdDecompressSync(z);
      assert.ok(plain.equals(input), 'node:zlib reads what compress wrote');
      assert.deepEqual(packed, { output: 'in.z', size: z.length, inputSize: input.length });
      assert.ok((objects.get('back') as Buffer).equals(input));
      assert.deepEqual(unpacked, { output: 'back', size: input.length, inputSize: z.length });
    });
  }

  test('decompress stops a bomb at maxSize with a clear error', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(5_000_000));
    const { objects, access } = memoryObjects({ bomb });
    await assert.rejects(
      run('decompress', access, { key: 'bomb', output: 'out', codec: 'gzip', maxSize: 100_000 }),
      (err) => err instanceof ExpansionCapError && /expands past 100000 bytes/.test(err.message),
    );
    assert.equal(objects.has('out'), false);
  });

  test('digest gives the SHA-256 and size of every object under the prefix, and writes them as JSON lines', async () => {
    // Prepare
    const a = randomBytes(2500);
    const b = Buffer.alloc(0);
    const { objects, access } = memoryObjects({ 'd/a': a, 'd/b': b, 'e/c': randomBytes(10) });

    // Act
    const result = await run('digest', access, { prefix: 'd/', output: 'd/digest.jsonl' });
    const again = await run('digest', access, { prefix: 'd/', output: 'd/digest.jsonl' });

    // Assess
    const expected = [
      { key: 'd/a', size: 2500, sha256: sha(a) },
      { key: 'd/b', size: 0, sha256: sha(b) },
    ];
    assert.deepEqual(result, { count: 2, objects: expected });
    assert.deepEqual(again, result, 'a re-run does not digest its own output');
    assert.equal(
      (objects.get('d/digest.jsonl') as Buffer).toString(),
      expected.map((e) => `${JSON.stringify(e)}\n`).join(''),
    );
  });

  test('grep matches line by line across chunk boundaries, with flags', async () => {
    const text = `${'x'.repeat(995)}\nERROR one\nok\nerror two\n`;
    const { access } = memoryObjects({
      'log/1': Buffer.from(text),
      'log/2': Buffer.from('Error three'),
    });
    const result = await run('grep', access, { prefix: 'log/', pattern: '^error', flags: 'i' });
    assert.deepEqual(result, {
      matches: 3,
      lines: [
        { key: 'log/1', line: 2, text: 'ERROR one' },
        { key: 'log/1', line: 4, text: 'error two' },
        { key: 'log/2', line: 1, text: 'Error three' },
      ],
    });
  });

  test('grep keeps the first GREP_TEXT_LIMIT characters of a long matching line, saying it cut it', async () => {
    const long = `{"error":"${'z'.repeat(5000)}"}`;
    const { access } = memoryObjects({ 'min/1.json': Buffer.from(long) });
    const result = (await run('grep', access, { prefix: 'min/', pattern: 'error' })) as {
      lines: Array<{ text: string; truncated?: boolean }>;
    };
    assert.equal(result.lines[0]?.text, long.slice(0, GREP_TEXT_LIMIT));
    assert.equal(result.lines[0]?.truncated, true);
  });

  test('concat streams the objects under the prefix in key order into one, leaving its own output out', async () => {
    const parts = { 'p/2': randomBytes(1500), 'p/1': randomBytes(700), 'p/3': randomBytes(3) };
    const { objects, access } = memoryObjects(parts);
    const result = await run('concat', access, { prefix: 'p/', output: 'p/all' });
    const again = await run('concat', access, { prefix: 'p/', output: 'p/all' });
    const expected = Buffer.concat([parts['p/1'], parts['p/2'], parts['p/3']]);
    assert.ok((objects.get('p/all') as Buffer).equals(expected));
    assert.deepEqual(result, { output: 'p/all', size: expected.length, parts: 3 });
    assert.deepEqual(again, result);
  });
});
