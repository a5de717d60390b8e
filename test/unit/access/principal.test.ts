import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allows, isAdmin } from '../../../shared/access/principal.ts';

test('a prefix-bound grant never makes its key an admin of everything, even with admin on every vault', () => {
  assert.equal(isAdmin([{ vaults: ['*'], actions: ['admin'] }]), true);
  assert.equal(isAdmin([{ vaults: ['*'], prefix: '', actions: ['admin'] }]), true);
  assert.equal(isAdmin([{ vaults: ['*'], prefix: 'tenant-a/', actions: ['admin'] }]), false);
  assert.equal(isAdmin([{ vaults: ['photos'], actions: ['admin'] }]), false);
  // Within its prefix it still does anything.
  assert.equal(
    allows(
      [{ vaults: ['*'], prefix: 'tenant-a/', actions: ['admin'] }],
      'delete',
      'v',
      'tenant-a/x',
    ),
    true,
  );
});

test('a key spelt with a combining mark is checked as the store keeps it (NFC): it cannot leave its prefix', () => {
  const policy = [{ vaults: ['v'], prefix: 'team-a', actions: ['read' as const] }];
  // "team-a" + U+0301 composes to "team-á", another prefix.
  assert.equal(allows(policy, 'read', 'v', 'team-a\u0301/secret'), false);
  assert.equal(allows(policy, 'read', 'v', 'team-a/secret'), true);
  // A prefix written decomposed matches the composed keys the store holds.
  const decomposed = [{ vaults: ['v'], prefix: 'caf\u0065\u0301/', actions: ['read' as const] }];
  assert.equal(allows(decomposed, 'read', 'v', 'caf\u00e9/menu'), true);
});
