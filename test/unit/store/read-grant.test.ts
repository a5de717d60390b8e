import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadGrantRefusedError } from '../../../shared/errors.ts';
import {
  type EdgeSlices,
  grantedEdgeSlices,
  grantRead,
  type IndexEntry,
  MAX_GRANTED_EDGE_SLICES,
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
  assert.deepEqual(served.entry, entry);
  assert.equal(served.edge, undefined, 'no edge copies offered');
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

test("a grant carries the caller's group's edge copies of its revision to the reader, and only those", async () => {
  // Prepare: three segments, copies staged for the first and the last.
  const { deps } = world();
  const three = { ...entry, segments: 3, size: 3000 };
  const staged = new Map<number, Map<number, { unit: number; key: string }>>([
    [
      0,
      new Map([
        [1, { unit: 9, key: 'edge/g/0/1' }],
        [2, { unit: 10, key: 'edge/g/0/2' }],
      ]),
    ],
    [2, new Map([[0, { unit: 10, key: 'edge/g/2/0' }]])],
  ]);
  const offered = (revision: string): EdgeSlices => ({
    revision,
    slices: { get: async () => new Uint8Array() },
    placement: async (segment) => staged.get(segment),
    served: { edge: 0, home: 0 },
  });
  const redeem = async (edge: EdgeSlices | undefined) => {
    const location = new URL(await grantRead(deps, 'https://r.lambda-url.on.aws/', three, edge));
    return redeemRead(deps, location.pathname, location.searchParams.get('grant') ?? undefined);
  };

  // Act
  const granted = await redeem(offered(three.revision));
  const stale = await redeem(offered('00mx3xkao0512d164e44e37dd1'));

  // Assess: the reader's view of the copies is the API's, segment by segment.
  assert.equal(stale.edge, undefined, 'copies of another revision are never offered');
  assert.ok(granted.edge);
  const home = { get: async () => new Uint8Array([7]) };
  const reread = grantedEdgeSlices(granted.edge, home);
  assert.equal(reread.revision, three.revision);
  assert.equal(reread.slices, home);
  for (const segment of [0, 1, 2])
    assert.deepEqual(await reread.placement(segment), staged.get(segment), `segment ${segment}`);
  assert.deepEqual(reread.served, { edge: 0, home: 0 });
});

test('a grant offers no edge copies past what one grant item holds: the reader reads the home units', async () => {
  // Prepare: one staged slice per segment, one segment more than a grant names.
  const { deps } = world();
  const huge = { ...entry, segments: MAX_GRANTED_EDGE_SLICES + 1, size: 1e9 };
  const edge: EdgeSlices = {
    revision: huge.revision,
    slices: { get: async () => new Uint8Array() },
    placement: (segment) => new Map([[0, { unit: 9, key: `edge/g/${segment}/0` }]]),
    served: { edge: 0, home: 0 },
  };

  // Act
  const location = new URL(await grantRead(deps, 'https://r.lambda-url.on.aws/', huge, edge));
  const granted = await redeemRead(
    deps,
    location.pathname,
    location.searchParams.get('grant') ?? undefined,
  );

  // Assess
  assert.equal(granted.edge, undefined);
  assert.deepEqual(granted.entry, huge);
});
