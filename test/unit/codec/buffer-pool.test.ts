import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BufferPool } from '../../../shared/codec/buffer-pool.ts';

test('a given-back buffer serves a later take of a near size; a far size gets a new one', () => {
  // Prepare
  const pool = new BufferPool(1024);
  const first = pool.take(3000);

  // Act
  pool.give(first);
  const near = pool.take(2500);
  const far = pool.take(3000);

  // Assert
  assert.equal(near.length, 2500);
  assert.equal(near.buffer, first.buffer, 'the idle buffer (3 KiB) serves 2500 bytes');
  assert.notEqual(far.buffer, first.buffer, 'it was taken: a new one');
  assert.equal(pool.allocated, 2);
  assert.equal(pool.reused, 1);
  pool.give(near);
  assert.notEqual(pool.take(1000).buffer, first.buffer, 'over twice the size asked for stays idle');
});

test('buffers it did not make, buffers given twice, and buffers past the idle cap are not kept', () => {
  // Prepare
  const pool = new BufferPool(1024, 4096);
  const a = pool.take(4096);
  const b = pool.take(4096);

  // Act
  pool.give(Buffer.alloc(4096));
  pool.give(new Uint8Array(4096));
  pool.give(a);
  pool.give(a);
  pool.give(b);
  const x = pool.take(4096);
  const y = pool.take(4096);

  // Assert: one idle buffer fits the cap, and it is a, once.
  assert.equal(x.buffer, a.buffer);
  assert.notEqual(y.buffer, a.buffer);
  assert.notEqual(y.buffer, b.buffer);
});

test('no two buffers out at once share memory, whatever the order of takes and gives', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 1, max: 20_000 }), fc.constant(-1)), { maxLength: 60 }),
      (steps) => {
        const pool = new BufferPool(4096, 64 * 1024);
        const out: Buffer[] = [];
        for (const step of steps) {
          if (step < 0) {
            const back = out.shift();
            if (back) pool.give(back);
            continue;
          }
          const got = pool.take(step);
          assert.equal(got.length, step);
          for (const other of out) assert.notEqual(other.buffer, got.buffer);
          out.push(got);
        }
      },
    ),
  );
});

test('a shared pool hands out views of SharedArrayBuffers, and reuses them as any pool does', () => {
  // Prepare
  const pool = new BufferPool(1024, undefined, { shared: true });
  const first = pool.take(2000);
  first.fill(7);

  // Act
  pool.give(first);
  const again = pool.take(1500);

  // Assert
  assert.ok(first.buffer instanceof SharedArrayBuffer);
  assert.ok(Buffer.isBuffer(first));
  assert.equal(again.buffer, first.buffer);
  assert.equal(pool.reused, 1);
  assert.ok(
    !(new BufferPool().take(10).buffer instanceof SharedArrayBuffer),
    'not shared unless asked',
  );
});
