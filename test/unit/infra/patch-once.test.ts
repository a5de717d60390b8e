import assert from 'node:assert/strict';
import { test } from 'node:test';
import { patchOnce } from '../../../infra/local/patch-once.ts';

class Store {
  prefix = 'store';
  name(key: string): string {
    return `${this.prefix}:${key}`;
  }
  size(): number {
    return 1;
  }
}

test('a patch wraps each named method once, however often it is applied, and keeps `this`', () => {
  // Prepare
  const proto = Store.prototype;
  const original = { name: proto.name, size: proto.size };
  const applied: string[] = [];
  const apply = () =>
    patchOnce(proto, 'test-brackets', ['name', 'size'], (inner, method) => {
      applied.push(method);
      return method === 'name'
        ? (function (this: Store, key: string) {
            return `[${(inner as Store['name']).call(this, key)}]`;
          } as Store['name'])
        : (function (this: Store) {
            return (inner as Store['size']).call(this) + 1;
          } as Store['size']);
    });
  try {
    // Act: as each start of a local cloud in one process does.
    apply();
    apply();
    apply();

    // Assess
    assert.deepEqual(applied, ['name', 'size']);
    assert.equal(new Store().name('k'), '[store:k]', 'wrapped once, not thrice');
    assert.equal(new Store().size(), 2);
  } finally {
    Object.assign(proto, original);
  }
});

test('patches of other names each apply once, in turn, on the same method', () => {
  const proto = Store.prototype;
  const original = proto.name;
  const tag = (mark: string) =>
    patchOnce(
      proto,
      `test-tag-${mark}`,
      ['name'],
      (inner) =>
        function (this: Store, key: string) {
          return `${inner.call(this, key)}${mark}`;
        },
    );
  try {
    tag('a');
    tag('b');
    tag('a');

    assert.equal(new Store().name('k'), 'store:kab');
    assert.deepEqual(
      Object.keys(proto),
      [],
      'the marks are symbols: nothing new among the prototype own string keys',
    );
  } finally {
    proto.name = original;
  }
});
