import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoleLostError, RoleNotFoundError } from '../../../shared/errors.ts';
import {
  acquireRole,
  checkRole,
  forceRelease,
  listRoles,
  ROLES,
  type RoleDeps,
  withRole,
} from '../../../shared/topology/index.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryFenceScope, MemoryRoleLeases } from '../../helpers/memory/index.ts';

const LEASE_MS = 10_000;

function world() {
  const clock = new ManualClock();
  const leases = new MemoryRoleLeases();
  const fences = new MemoryFenceScope();
  const as = (holder: string): RoleDeps => ({ leases, fences, clock, holder, leaseMs: LEASE_MS });
  return { clock, leases, fences, as };
}

test('a role is held by one holder at a time, and the token grows with each acquisition', async () => {
  // Prepare
  const { as } = world();
  // Act
  const first = await acquireRole(as('a'), 'janitor');
  const second = await acquireRole(as('b'), 'janitor');
  // Assess
  assert.equal(first?.token, 1);
  assert.equal(second, undefined, 'the role is held until its lease ends');
});

test("a crashed holder's role is taken over after its lease ends, not before", async () => {
  // Prepare: a holds the role and then stops renewing (it crashed).
  const { clock, as } = world();
  const a = await acquireRole(as('a'), 'janitor');
  // Act
  clock.advance(LEASE_MS - 1);
  const early = await acquireRole(as('b'), 'janitor');
  clock.advance(1);
  const late = await acquireRole(as('b'), 'janitor');
  // Assess
  assert.equal(early, undefined);
  assert.equal(late?.holder, 'b');
  assert.equal(late?.token, (a?.token ?? 0) + 1);
});

test('a stale holder (paused past its lease, then taken over) is refused when it renews', async () => {
  // Prepare
  const { clock, as } = world();
  const a = await acquireRole(as('a'), 'rebuild-scheduler');
  clock.advance(LEASE_MS + 1);
  const b = await acquireRole(as('b'), 'rebuild-scheduler');
  // Act, Assess
  await assert.rejects(a?.renew() ?? Promise.resolve(), RoleLostError);
  await b?.renew();
  assert.equal(b?.expiresAt, clock.now() + LEASE_MS);
});

test('renewing moves the end of the lease on, so a holder that renews keeps the role', async () => {
  // Prepare
  const { clock, as } = world();
  const a = await acquireRole(as('a'), 'janitor');
  // Act
  clock.advance(LEASE_MS - 1000);
  await a?.renew();
  clock.advance(LEASE_MS - 1000);
  const b = await acquireRole(as('b'), 'janitor');
  // Assess
  assert.equal(b, undefined);
});

test('withRole runs with the token in its fence scope and releases the role afterwards', async () => {
  // Prepare
  const { as, fences, leases } = world();
  // Act
  const run = await withRole(as('a'), 'janitor', async (held) => ({
    fence: fences.current(),
    token: held.token,
  }));
  // Assess: the next holder need not wait for the lease, and gets a later token.
  assert.ok(run.ran);
  assert.deepEqual(run.result.fence, { role: 'janitor', token: 1 });
  assert.equal((await leases.get('janitor'))?.holder, undefined);
  assert.equal((await acquireRole(as('b'), 'janitor'))?.token, 2);
});

test('withRole does not run while another holds the role, and says who', async () => {
  // Prepare
  const { as } = world();
  await acquireRole(as('a'), 'replication-rebalancer');
  let ran = false;
  // Act
  const run = await withRole(as('b'), 'replication-rebalancer', async () => {
    ran = true;
  });
  // Assess
  assert.equal(ran, false);
  assert.equal(run.ran, false);
  assert.equal(!run.ran && run.heldBy?.holder, 'a');
});

test('withRole releases the role when its work throws, and the error goes on', async () => {
  // Prepare
  const { as, leases } = world();
  // Act, Assess
  await assert.rejects(
    withRole(as('a'), 'janitor', async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal((await leases.get('janitor'))?.holder, undefined);
});

test("an operator's release frees the role at once, and the former holder's renewal is refused", async () => {
  // Prepare
  const { clock, as, leases } = world();
  const a = await acquireRole(as('a'), 'janitor');
  // Act
  const released = await forceRelease({ leases, clock }, 'janitor');
  const b = await acquireRole(as('b'), 'janitor');
  // Assess
  assert.equal(released?.token, 1);
  assert.equal(b?.token, 2);
  await assert.rejects(a?.renew() ?? Promise.resolve(), RoleLostError);
});

test('a release naming a token that no longer holds the role releases nothing', async () => {
  // Prepare
  const { clock, as, leases } = world();
  await acquireRole(as('a'), 'janitor');
  // Act
  const released = await forceRelease({ leases, clock }, 'janitor', 7);
  // Assess
  assert.equal(released, undefined);
  assert.equal((await leases.get('janitor'))?.holder, 'a');
});

test('the role list shows every role, its holder, token and expiry', async () => {
  // Prepare
  const { clock, as, leases } = world();
  await acquireRole(as('a'), 'janitor');
  // Act
  const roles = await listRoles({ leases, clock });
  // Assess
  assert.deepEqual(
    roles.map((r) => r.role),
    [...ROLES],
  );
  const janitor = roles.find((r) => r.role === 'janitor');
  assert.deepEqual(
    { holder: janitor?.holder, token: janitor?.token, held: janitor?.held },
    { holder: 'a', token: 1, held: true },
  );
  assert.equal(janitor?.expiresAt, new Date(clock.now() + LEASE_MS).toISOString());
  clock.advance(LEASE_MS);
  const later = (await listRoles({ leases, clock })).find((r) => r.role === 'janitor');
  assert.equal(later?.held, false, 'an ended lease is shown as not held');
});

test('an unknown role name is refused, naming the known ones', () => {
  assert.throws(() => checkRole('mayor'), RoleNotFoundError);
  assert.equal(checkRole('janitor'), 'janitor');
});
