import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadGrantRefusedError } from '../../../shared/errors.ts';
import {
  grantRead,
  type IndexEntry,
  READ_GRANT_LIFETIME_MS,
  type ReadGrant,
  type ReadGrantStore,
  redeemRead,
} from '../../../shared/store/index.ts';
import { ManualClock } from '../../helpers/clock.ts';

/** Grants kept in a map, as the control table keeps them by token. */
class MapGrants implements ReadGrantStore {
  readonly grants = new Map<string, ReadGrant>();
  async put(grant: ReadGrant) {
    this.grants.set(grant.token, structuredClone(grant));
  }
  async get(token: string) {
    return structuredClone(this.grants.get(token));
  }
}

const entry: IndexEntry = {
  vault: 'photos',
  key: '2026/a b.jpg',
  revision: '00mx3xkao0512d164e44e37dd0',
  objectId: 'AAAAAAAAAAAAAAAAAAAAAA',
  size: 10,
  sha256: 'f'.repeat(64),
  segments: 1,
  segmentSize: 1024,
  readThreshold: 2,
  units: [0, 1, 2],
  committedAt: '2026-12-01T00:00:00.000Z',
};

function world() {
  const clock = new ManualClock();
  const deps = { grants: new MapGrants(), clock };
  return { clock, deps };
}

test('a granted Location carries the key in its path and serves the granted revision until it expires', async () => {
  // Prepare
  const { clock, deps } = world();

  // Act
  const location = new URL(await grantRead(deps, 'https://r.lambda-url.on.aws/', entry));
  const token = location.searchParams.get('grant') ?? undefined;
  const served = await redeemRead(deps, location.pathname, token);
  clock.advance(READ_GRANT_LIFETIME_MS);

  // Assess
  assert.equal(location.origin, 'https://r.lambda-url.on.aws');
  assert.equal(location.pathname, '/vaults/photos/objects/2026/a%20b.jpg');
  assert.deepEqual(served, entry);
  await assert.rejects(redeemRead(deps, location.pathname, token), {
    name: 'ReadGrantRefusedError',
    message: /expired/,
  });
});

test('an altered, missing or foreign grant is refused', async () => {
  // Prepare
  const { deps } = world();
  const location = new URL(await grantRead(deps, 'https://r.lambda-url.on.aws/', entry));
  const token = location.searchParams.get('grant') as string;
  const altered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;

  // Act + Assess
  for (const [path, t] of [
    [location.pathname, altered],
    [location.pathname, undefined],
    [location.pathname, 'short'],
    ['/vaults/photos/objects/2026/other.jpg', token],
    ['/vaults/other/objects/2026/a%20b.jpg', token],
    ['/not/a/reader/path', token],
  ] as const) {
    await assert.rejects(redeemRead(deps, path, t), ReadGrantRefusedError, `${path} ${t}`);
  }
});
