import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs, { writeFileSync as esmWriteFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, mock, test } from 'node:test';
import {
  WRITE_PIECE,
  withPiecewiseWrites,
  writeFileInPiecesSync,
} from '../../../infra/local/piecewise-writes.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dsn-pieces-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a buffer is written whole, at most WRITE_PIECE bytes a call, whatever its size', async () => {
  for (const size of [0, 1, WRITE_PIECE, WRITE_PIECE + 1, 3 * WRITE_PIECE + 17]) {
    // Prepare
    const body = randomBytes(size);
    const writes = mock.method(fs, 'writeSync');
    const path = join(dir, `f-${size}`);

    // Act: over an older, longer file, which the write must replace.
    fs.writeFileSync(path, randomBytes(size + 1000));
    writes.mock.resetCalls();
    writeFileInPiecesSync(path, body.subarray(0));

    // Assert
    const lengths = writes.mock.calls.map((c) => c.arguments[3] as number | undefined);
    writes.mock.restore();
    assert.deepEqual(await readFile(path), body, `size ${size}`);
    if (size > WRITE_PIECE) {
      assert.equal(lengths.length, Math.ceil(size / WRITE_PIECE), `size ${size}`);
      assert.ok(
        lengths.every((n) => n !== undefined && n <= WRITE_PIECE),
        `size ${size}`,
      );
    }
  }
});

test('a view into a larger buffer writes its own bytes; strings and flags behave as writeFileSync', async () => {
  // Prepare
  const whole = randomBytes(3 * WRITE_PIECE);
  const view = whole.subarray(WRITE_PIECE / 2, WRITE_PIECE / 2 + 2 * WRITE_PIECE + 3);
  const path = join(dir, 'view');

  // Act
  writeFileInPiecesSync(path, view);
  writeFileInPiecesSync(join(dir, 'text'), 'some text', 'utf8');
  writeFileInPiecesSync(path, randomBytes(WRITE_PIECE + 1), { flag: 'a' });

  // Assert
  const got = await readFile(path);
  assert.deepEqual(got.subarray(0, view.length), view);
  assert.equal(got.length, view.length + WRITE_PIECE + 1);
  assert.equal(await readFile(join(dir, 'text'), 'utf8'), 'some text');
  assert.throws(
    () => writeFileInPiecesSync(join(dir, 'no', 'such'), randomBytes(WRITE_PIECE + 1)),
    {
      code: 'ENOENT',
    },
  );
});

test('withPiecewiseWrites swaps writeFileSync for ES module importers too, and always puts it back', () => {
  // Act
  const inside = withPiecewiseWrites(() => esmWriteFileSync);
  const nested = withPiecewiseWrites(() => withPiecewiseWrites(() => esmWriteFileSync));
  assert.throws(() =>
    withPiecewiseWrites(() => {
      throw new Error('boom');
    }),
  );

  // Assert
  assert.equal(inside, writeFileInPiecesSync);
  assert.equal(nested, writeFileInPiecesSync);
  assert.notEqual(esmWriteFileSync, writeFileInPiecesSync);
  assert.notEqual(fs.writeFileSync, writeFileInPiecesSync);
});
