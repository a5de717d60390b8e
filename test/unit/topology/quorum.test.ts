import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParameterError, TopologyConflictError } from '../../../shared/errors.ts';
import { silentLogger } from '../../../shared/log.ts';
import type { Vault, VaultStore } from '../../../shared/store/index.ts';
import {
  applyProposal,
  canonicalJson,
  ORPHAN_SLOT_MS,
  PROPOSAL_TTL_MS,
  type ProposalMessage,
  type ProposalRecord,
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

test('a vote that applied a proposal but stopped before its job started: the redelivery and the late votes start it, once', async () => {
  // Prepare: the job's start fails once (throttled), as the applying vote goes.
  const { deps, broadcast, clock, topologies } = world();
  const started: string[] = [];
  let fail = true;
  const voter = (unit: number): VoterDeps => ({
    unit,
    topologies,
    clock,
    log: silentLogger,
    onCurrent: async (current, parent) => {
      if (fail) {
        fail = false;
        throw new Error('throttled');
      }
      // As the job store does: the same job is started once.
      if (!started.includes(current.id)) started.push(current.id);
      assert.equal(parent.id, current.topology.parent);
      return current.id;
    },
  });
  const { proposal } = await proposeChange(
    deps,
    'photos',
    parseTopologyChange({ replace: { unit: 3, with: 7 } }),
  );
  const message = broadcast.sent[0]?.message;
  assert.ok(message);
  for (const unit of [0, 1, 2, 3]) await voteOnProposal(voter(unit), message);
  await assert.rejects(voteOnProposal(voter(4), message), /throttled/);

  // Act: unit 4's vote again (SQS), then unit 5's, late.
  const again = await voteOnProposal(voter(4), message);
  const late = await voteOnProposal(voter(5), message);

  // Assess
  assert.deepEqual([again, late], ['decided', 'decided']);
  assert.deepEqual(started, [proposal.id]);
  const view = await topologyView(deps, 'photos');
  assert.equal(view.topologies.find((t) => t.id === proposal.id)?.state, 'current');
  assert.equal(view.topologies.find((t) => t.id === proposal.topology.parent)?.state, 'superseded');
});

/** `message` as it would arrive altered on the way: the document no longer hashes to its id. */
function altered(message: ProposalMessage): ProposalMessage {
  return { ...message, topology: { ...message.topology, segmentSize: 1 } };
}

test('a proposal older than the TTL is expired by the next proposal, which opens; its late votes do not count', async () => {
  // Prepare: a proposal whose votes were all lost on the way.
  const { deps, topologies, broadcast, voter, clock } = world();
  const { proposal: old } = await proposeChange(
    deps,
    'photos',
    parseTopologyChange({ replace: { unit: 3, with: 7 } }),
  );
  const oldMessage = broadcast.sent[0]?.message;
  assert.ok(oldMessage);
  clock.advance(PROPOSAL_TTL_MS);

  // Act
  const { proposal: next } = await proposeChange(deps, 'photos', parseTopologyChange({ drain: 2 }));
  const late = [];
  for (const unit of [0, 1, 2, 3, 4, 5]) late.push(await voteOnProposal(voter(unit), oldMessage));

  // Assess
  assert.equal((await topologies.get('photos', old.id))?.state, 'expired');
  assert.deepEqual((await topologies.get('photos', old.id))?.votes, []);
  assert.deepEqual(late, ['decided', 'decided', 'decided', 'decided', 'decided', 'decided']);
  const view = await topologyView(deps, 'photos');
  assert.equal(view.current, old.topology.parent, 'the late votes switched nothing');
  assert.equal(view.topologies.find((t) => t.id === old.id)?.state, 'expired');
  assert.equal(view.topologies.find((t) => t.id === next.id)?.state, 'open');
  const nextMessage = broadcast.sent[1]?.message;
  assert.ok(nextMessage);
  for (const unit of [0, 1, 2, 3]) await voteOnProposal(voter(unit), nextMessage);
  assert.equal(await voteOnProposal(voter(4), nextMessage), 'applied');
});

test('a proposal refused by more than n - T units is expired at once, and a new proposal opens right away', async () => {
  // Prepare: T = 5 of 6, so two refusals leave too few units to accept it.
  const { deps, topologies, broadcast, voter } = world();
  const { proposal } = await proposeChange(
    deps,
    'photos',
    parseTopologyChange({ replace: { unit: 3, with: 7 } }),
  );
  const message = broadcast.sent[0]?.message;
  assert.ok(message);
  await voteOnProposal(voter(0), message);

  // Act: one refusal leaves it open (five units may still accept); unit 6 has no vote to
  // withhold; the second refusal of a voter (delivered twice) expires it.
  assert.equal(await voteOnProposal(voter(1), altered(message)), 'refused');
  const afterOne = (await topologies.get('photos', proposal.id))?.state;
  assert.equal(await voteOnProposal(voter(6), message), 'refused');
  const afterOutsider = (await topologies.get('photos', proposal.id))?.state;
  for (let i = 0; i < 2; i++) await voteOnProposal(voter(2), altered(message));

  // Assess
  assert.equal(afterOne, 'open');
  assert.equal(afterOutsider, 'open');
  assert.equal((await topologies.get('photos', proposal.id))?.state, 'expired');
  const { proposal: next } = await proposeChange(deps, 'photos', parseTopologyChange({ drain: 2 }));
  assert.equal((await topologies.get('photos', next.id))?.state, 'open');
  assert.equal(await voteOnProposal(voter(3), message), 'decided');
});

test('a young open proposal still refuses another (409), naming when it expires', async () => {
  // Prepare
  const { deps, clock } = world();
  const { proposal } = await proposeChange(
    deps,
    'photos',
    parseTopologyChange({ replace: { unit: 3, with: 7 } }),
  );
  clock.advance(PROPOSAL_TTL_MS - 1);
  const expiresAt = new Date(Date.parse(proposal.createdAt) + PROPOSAL_TTL_MS).toISOString();

  // Act and assess
  await assert.rejects(
    proposeChange(deps, 'photos', parseTopologyChange({ drain: 1 })),
    (err: unknown) =>
      err instanceof TopologyConflictError &&
      err.blocking === proposal.id &&
      err.expiresAt === expiresAt &&
      err.message.includes(`expires at ${expiresAt}`),
  );
});

test('expire changes nothing on a decided proposal, and expires an open one once', async () => {
  // Prepare: one proposal applied, one lost to it, one open on the new topology.
  const { deps, topologies, broadcast, voter } = world();
  const { proposal: won } = await proposeChange(
    deps,
    'photos',
    parseTopologyChange({ replace: { unit: 3, with: 7 } }),
  );
  topologies.open_.clear();
  const { proposal: lost } = await proposeChange(deps, 'photos', parseTopologyChange({ drain: 2 }));
  const [first, second] = broadcast.sent.map((s) => s.message);
  assert.ok(first && second);
  const parent = await topologies.get('photos', won.topology.parent as string);
  assert.ok(parent);
  for (const unit of [0, 1, 2, 3, 4]) await voteOnProposal(voter(unit), first);
  assert.equal(await applyProposal(voter(0), lost, parent), 'lost');
  const { proposal: open } = await proposeChange(deps, 'photos', parseTopologyChange({ drain: 1 }));

  // Act
  const answers = [
    await topologies.expire('photos', won.id),
    await topologies.expire('photos', lost.id),
    await topologies.expire('photos', open.id),
    await topologies.expire('photos', open.id),
  ];

  // Assess
  assert.deepEqual(answers, [false, false, true, false]);
  assert.equal((await topologies.get('photos', won.id))?.state, 'current');
  assert.equal((await topologies.get('photos', parent.id))?.state, 'superseded');
  assert.equal((await topologies.get('photos', lost.id))?.state, 'lost');
  assert.equal((await topologies.get('photos', open.id))?.state, 'expired');
  assert.equal((await topologies.current('photos')).id, won.id);
});

test('a proposal that expired after its T-th vote landed still becomes current when applied: the switch is the truth', async () => {
  // Prepare: T votes recorded, then the proposal expired before the applier switched the vault.
  const { deps, topologies, broadcast, voter } = world();
  const { proposal } = await proposeChange(
    deps,
    'photos',
    parseTopologyChange({ replace: { unit: 3, with: 7 } }),
  );
  const message = broadcast.sent[0]?.message;
  assert.ok(message);
  for (const unit of [0, 1, 2, 3, 4]) await topologies.vote('photos', proposal.id, unit);
  assert.ok(await topologies.expire('photos', proposal.id));
  const parent = await topologies.get('photos', proposal.topology.parent as string);
  const record = await topologies.get('photos', proposal.id);
  assert.ok(parent && record);

  // Act
  const outcome = await applyProposal(voter(4), record, parent);

  // Assess
  assert.equal(outcome, 'applied');
  assert.equal((await topologies.current('photos')).id, proposal.id);
  assert.equal((await topologies.get('photos', proposal.id))?.state, 'current');
  assert.equal((await topologies.get('photos', parent.id))?.state, 'superseded');
});

test('a vote on a proposal past its TTL expires it instead of counting', async () => {
  // Prepare
  const { deps, topologies, broadcast, voter, clock } = world();
  const { proposal } = await proposeChange(
    deps,
    'photos',
    parseTopologyChange({ replace: { unit: 3, with: 7 } }),
  );
  const message = broadcast.sent[0]?.message;
  assert.ok(message);
  for (const unit of [0, 1, 2, 3]) await voteOnProposal(voter(unit), message);
  clock.advance(PROPOSAL_TTL_MS);

  // Act
  const outcome = await voteOnProposal(voter(4), message);

  // Assess
  assert.equal(outcome, 'decided');
  const stored = await topologies.get('photos', proposal.id);
  assert.equal(stored?.state, 'expired');
  assert.deepEqual(stored?.votes, [0, 1, 2, 3]);
  assert.equal((await topologies.current('photos')).id, proposal.topology.parent);
});

/** The first proposal's opener dies between taking the slot and storing its record. */
async function orphanedSlot(w: ReturnType<typeof world>) {
  const put = w.topologies.put.bind(w.topologies);
  let lost: ProposalRecord | undefined;
  w.topologies.put = async (record) => {
    if (record.state === 'open' && lost === undefined) {
      lost = record;
      throw new Error('the api died here');
    }
    return put(record);
  };
  await assert.rejects(
    proposeChange(w.deps, 'photos', parseTopologyChange({ replace: { unit: 3, with: 7 } })),
    /the api died here/,
  );
  return lost as ProposalRecord;
}

/** Runs `p`, moving the manual clock on by `ms` once it sleeps. */
async function pastSleep<T>(clock: ManualClock, ms: number, p: Promise<T>): Promise<T> {
  const settled = p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(ms);
  }
  const out = await settled;
  if ('error' in out) throw out.error;
  return out.value;
}

test('a slot left by an opener that died before storing its proposal is freed for the next proposal after ORPHAN_SLOT_MS', async () => {
  // Prepare
  const w = world();
  const orphan = await orphanedSlot(w);

  // Act
  const { proposal } = await pastSleep(
    w.clock,
    ORPHAN_SLOT_MS,
    proposeChange(w.deps, 'photos', parseTopologyChange({ drain: 1 })),
  );

  // Assess
  assert.notEqual(proposal.id, orphan.id);
  assert.equal((await w.topologies.get('photos', proposal.id))?.state, 'open');
  assert.equal(await w.topologies.get('photos', orphan.id), undefined);
});

test('a slot whose record appears within ORPHAN_SLOT_MS belongs to a slow opener: its young proposal still refuses another', async () => {
  // Prepare
  const w = world();
  const orphan = await orphanedSlot(w);
  const next = proposeChange(w.deps, 'photos', parseTopologyChange({ drain: 1 }));
  await new Promise((r) => setImmediate(r));
  await w.topologies.put(orphan);

  // Act and assess
  await assert.rejects(
    pastSleep(w.clock, ORPHAN_SLOT_MS, next),
    (err: unknown) => err instanceof TopologyConflictError && err.blocking === orphan.id,
  );
});
