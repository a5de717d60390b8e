import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError, TopologyConflictError } from '../../../shared/errors.ts';
import { silentLogger } from '../../../shared/log.ts';
import type { Vault, VaultStore } from '../../../shared/store/index.ts';
import {
  canonicalJson,
  parseTopologyChange,
  proposeChange,
  type TopologyDeps,
  topologyId,
  topologyView,
  type VoterDeps,
  voteOnProposal,
} from '../../../shared/topology/index.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryTopologyStore, RecordingBroadcast } from '../../helpers/memory/topology.ts';

/** A 4-of-6 vault (T = 5) on units 0-5 of a pool of 8, seen through the topology store. */
function world() {
  const clock = new ManualClock();
  const topologies = new MemoryTopologyStore();
  const base: Vault = {
    name: 'photos',
    width: 6,
    readThreshold: 4,
    writeThreshold: 5,
    segmentSize: 65536,
    units: [0, 1, 2, 3, 4, 5],
    address: 'vault/photos',
    createdAt: clock.date().toISOString(),
  };
  topologies.vaults.set('photos', {});
  const vaults: VaultStore = {
    create: async () => {},
    get: async () => {
      const v = topologies.vaults.get('photos') ?? {};
      return {
        ...base,
        ...(v.units ? { units: v.units } : {}),
        ...(v.id ? { topology: v.id } : {}),
      };
    },
    list: async () => [await vaults.get('photos')],
  };
  const broadcast = new RecordingBroadcast();
  const deps: TopologyDeps = {
    vaults,
    topologies,
    broadcast,
    poolSize: 8,
    pool: (unit) => ({ bucket: `unit-${unit}`, region: 'us-east-1', endpoint: '' }),
    clock,
  };
  const voter = (unit: number): VoterDeps => ({ unit, topologies, clock, log: silentLogger });
  return { deps, topologies, broadcast, voter, clock };
}

test('a topology id is the SHA-256 of its canonical JSON, whatever the key order', () => {
  // Prepare
  const a = {
    vault: 'v',
    parent: null,
    units: [],
    width: 1,
    readThreshold: 1,
    writeThreshold: 1,
    segmentSize: 1,
  };
  const b = {
    segmentSize: 1,
    writeThreshold: 1,
    readThreshold: 1,
    width: 1,
    units: [],
    parent: null,
    vault: 'v',
  };

  // Act and assess
  assert.equal(canonicalJson(a), canonicalJson(b));
  assert.equal(topologyId(a), topologyId(b));
  assert.match(topologyId(a), /^[0-9a-f]{64}$/);
  assert.notEqual(topologyId(a), topologyId({ ...a, width: 2 }));
});

test('a proposal takes effect when T current units accept, not before; a repeated vote counts once', async () => {
  // Prepare
  const { deps, broadcast, voter } = world();
  const { proposal } = await proposeChange(
    deps,
    'photos',
    parseTopologyChange({ replace: { unit: 3, with: 7 } }),
  );
  const message = broadcast.sent[0]?.message;
  assert.ok(message);
  assert.deepEqual(broadcast.sent[0]?.units, [0, 1, 2, 3, 4, 5]);

  // Act: four units vote, one of them twice; then a fifth.
  for (const unit of [0, 1, 2, 2, 3])
    assert.equal(await voteOnProposal(voter(unit), message), 'accepted');
  const before = await topologyView(deps, 'photos');
  const fifth = await voteOnProposal(voter(4), message);
  const after = await topologyView(deps, 'photos');

  // Assess
  assert.notEqual(before.current, proposal.id);
  assert.equal(fifth, 'applied');
  assert.equal(after.current, proposal.id);
  const shown = after.topologies.find((t) => t.id === proposal.id);
  assert.deepEqual(shown?.units, [0, 1, 2, 7, 4, 5]);
  assert.deepEqual(shown?.votes, [0, 1, 2, 3, 4]);
  assert.equal(after.topologies[0]?.state, 'superseded');
  assert.equal(await voteOnProposal(voter(5), message), 'decided');
});

test('of two competing proposals on the same parent exactly one wins, however the votes interleave', async () => {
  for (let seed = 0; seed < 20; seed++) {
    // Prepare: both stored as open (as if two API callers raced past the open slot).
    const { deps, topologies, broadcast, voter } = world();
    await proposeChange(deps, 'photos', parseTopologyChange({ replace: { unit: 3, with: 7 } }));
    const first = broadcast.sent[0]?.message;
    topologies.open_.clear();
    await proposeChange(deps, 'photos', parseTopologyChange({ drain: 2 }));
    const second = broadcast.sent[1]?.message;
    assert.ok(first && second);
    const votes = [0, 1, 2, 3, 4, 5].flatMap((u) => [
      { unit: u, message: first },
      { unit: u, message: second },
    ]);
    let x = seed + 1;
    const next = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x;
    };
    votes.sort(() => (next() % 3) - 1);

    // Act
    for (const v of votes) await voteOnProposal(voter(v.unit), v.message);

    // Assess
    const view = await topologyView(deps, 'photos');
    const states = [first.proposal, second.proposal].map(
      (id) => view.topologies.find((t) => t.id === id)?.state,
    );
    assert.equal(states.filter((s) => s === 'current').length, 1, `seed ${seed}: ${states}`);
    assert.ok([first.proposal, second.proposal].includes(view.current));
  }
});

test('a second open proposal on the same parent is refused (409), and a unit refuses a proposal whose parent is not current', async () => {
  // Prepare
  const { deps, broadcast, voter } = world();
  await proposeChange(deps, 'photos', parseTopologyChange({ replace: { unit: 3, with: 7 } }));

  // Act and assess
  await assert.rejects(
    proposeChange(deps, 'photos', parseTopologyChange({ drain: 1 })),
    TopologyConflictError,
  );
  const message = broadcast.sent[0]?.message;
  assert.ok(message);
  const forged = { ...message, topology: { ...message.topology, parent: 'f'.repeat(64) } };
  forged.proposal = topologyId(forged.topology);
  assert.equal(await voteOnProposal(voter(0), forged), 'refused');
  assert.equal(await voteOnProposal(voter(6), message), 'refused', 'unit 6 is not a voter');
});

test('bad changes name their rule: a replacement already in the vault, a width above the pool, k > n, a unit outside the vault', async () => {
  // Prepare
  const { deps } = world();
  const cases: Array<[unknown, string]> = [
    [{ replace: { unit: 3, with: 4 } }, 'replace.with'],
    [{ width: 9, readThreshold: 4, writeThreshold: 5 }, 'width'],
    [{ width: 6, readThreshold: 7, writeThreshold: 7 }, 'readThreshold'],
    [{ replace: { unit: 6, with: 7 } }, 'replace.unit'],
    [{ drain: 7 }, 'drain'],
    [{ width: 6, readThreshold: 4, writeThreshold: 5 }, 'width'],
  ];
  for (const [body, field] of cases) {
    // Act and assess
    // The body's own rules (k > n) are met while parsing; the topology's while proposing.
    await assert.rejects(
      async () => proposeChange(deps, 'photos', parseTopologyChange(body)),
      (err: unknown) => err instanceof InvalidParameterError && err.field === field,
      JSON.stringify(body),
    );
  }
});

test('a proposal applied by a unit that stopped before recording it is recorded by the next vote delivered', async () => {
  // Prepare: the vault points at the proposal, but the proposal is still marked open.
  const { deps, topologies, broadcast, voter, clock } = world();
  const { proposal } = await proposeChange(
    deps,
    'photos',
    parseTopologyChange({ replace: { unit: 3, with: 7 } }),
  );
  const parent = proposal.topology.parent as string;
  assert.ok(
    await topologies.switchVault('photos', parent, {
      id: proposal.id,
      topology: proposal.topology,
      since: clock.now(),
    }),
  );
  const message = broadcast.sent[0]?.message;
  assert.ok(message);

  // Act: a redelivered vote.
  const outcome = await voteOnProposal(voter(0), message);

  // Assess
  assert.equal(outcome, 'applied');
  const view = await topologyView(deps, 'photos');
  assert.equal(view.topologies.find((t) => t.id === proposal.id)?.state, 'current');
  assert.equal(view.topologies.find((t) => t.id === parent)?.state, 'superseded');
});
