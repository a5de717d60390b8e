/**
 * The TopologyStore contract, as far as a proposal's life goes: one open proposal per parent,
 * votes that count only while it is open, and expiry, which only an open proposal undergoes
 * and which frees its parent for the next one.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { ProposalRecord, Topology, TopologyStore } from '../../shared/topology/index.ts';
import { topologyId } from '../../shared/topology/index.ts';
import { type PortFactory, portTest } from './contract.ts';

/** A store, and a way to create the vault whose pointer `switchVault` moves. */
export interface TopologyStoreWorld {
  topologies: TopologyStore;
  /** Creates vault `name` with no topology yet. */
  addVault(name: string): Promise<void>;
}

const CREATED = '2026-12-01T00:00:00.000Z';

/** A 4-of-6 (T = 5) topology of `vault` on `units` whose parent is `parent`. */
function topologyOf(vault: string, parent: string | null, units = [0, 1, 2, 3, 4, 5]): Topology {
  return {
    vault,
    parent,
    units: units.map((unit) => ({
      unit,
      bucket: `unit-${unit}`,
      region: 'us-east-1',
      endpoint: '',
    })),
    width: units.length,
    readThreshold: 4,
    writeThreshold: 5,
    segmentSize: 65536,
  };
}

function recordOf(topology: Topology, state: ProposalRecord['state']): ProposalRecord {
  return {
    vault: topology.vault,
    id: topologyId(topology),
    topology,
    state,
    votes: [],
    refusals: [],
    createdAt: CREATED,
  };
}

/**
 * Vault `photos` pointing at a stored genesis topology, and two proposals on it (replace unit 3
 * with 6, or with 7), neither opened yet.
 */
async function genesisWithTwoProposals({ topologies, addVault }: TopologyStoreWorld) {
  await addVault('photos');
  const genesis = recordOf(topologyOf('photos', null), 'current');
  await topologies.put(genesis);
  const since = Date.parse(CREATED);
  assert.ok(
    await topologies.switchVault('photos', undefined, {
      id: genesis.id,
      topology: genesis.topology,
      since,
    }),
  );
  const first = recordOf(topologyOf('photos', genesis.id, [0, 1, 2, 6, 4, 5]), 'open');
  const second = recordOf(topologyOf('photos', genesis.id, [0, 1, 2, 7, 4, 5]), 'open');
  return { genesis, first, second, since };
}

/** Registers the contract's tests; `factory` builds an empty store. */
export function topologyStoreContract(
  name: string,
  factory: PortFactory<TopologyStoreWorld>,
): void {
  const it = portTest(factory);

  describe(`TopologyStore contract: ${name}`, () => {
    it('one proposal is open per parent: a second is told the first, the same one again is not', async (world) => {
      // Prepare
      const { first, second } = await genesisWithTwoProposals(world);

      // Act
      const answers = [
        await world.topologies.open(first),
        await world.topologies.open(second),
        await world.topologies.open(first),
      ];

      // Assess
      assert.deepEqual(answers, [undefined, first.id, undefined]);
      assert.equal(await world.topologies.get('photos', second.id), undefined);
    });

    it('expire marks an open proposal expired once, frees its parent, and its later votes do not count', async (world) => {
      // Prepare
      const { topologies } = world;
      const { first, second } = await genesisWithTwoProposals(world);
      await topologies.open(first);
      await topologies.vote('photos', first.id, 0);

      // Act
      const answers = [
        await topologies.expire('photos', first.id),
        await topologies.expire('photos', first.id),
      ];
      const late = await topologies.vote('photos', first.id, 1);
      const next = await topologies.open(second);

      // Assess
      assert.deepEqual(answers, [true, false]);
      assert.equal(late?.state, 'expired');
      assert.deepEqual(late?.votes, [0]);
      assert.equal(next, undefined, 'the parent is free for another proposal');
      assert.equal((await topologies.get('photos', second.id))?.state, 'open');
    });

    it('the same change proposed again after it expired is open again, with no votes; a decided one stays decided', async (world) => {
      // Prepare: the first expired with a vote and a refusal.
      const { topologies } = world;
      const { first } = await genesisWithTwoProposals(world);
      await topologies.open(first);
      await topologies.vote('photos', first.id, 0);
      await topologies.refuse('photos', first.id, 1, 'busy');
      assert.ok(await topologies.expire('photos', first.id));
      const again = { ...first, createdAt: '2026-12-06T04:00:00.000Z', proposer: 'AKAGAIN' };

      // Act
      const opened = await topologies.open(again);
      const voted = await topologies.vote('photos', first.id, 2);

      // Assess
      assert.equal(opened, undefined);
      assert.deepEqual(
        [voted?.state, voted?.votes, voted?.refusals, voted?.createdAt, voted?.proposer],
        ['open', [2], [], again.createdAt, 'AKAGAIN'],
      );
    });

    it('expire changes nothing on a decided proposal, nor on a slot another proposal holds', async (world) => {
      // Prepare: the first lost, the second opened in its place.
      const { topologies } = world;
      const { genesis, first, second } = await genesisWithTwoProposals(world);
      await topologies.open(first);
      await topologies.settle('photos', first.id, 'lost');
      assert.equal(await topologies.open(second), undefined);

      // Act
      const answers = [
        await topologies.expire('photos', first.id),
        await topologies.expire('photos', genesis.id),
        await topologies.expire('photos', 'f'.repeat(64)),
      ];

      // Assess
      assert.deepEqual(answers, [false, false, false]);
      assert.equal((await topologies.get('photos', first.id))?.state, 'lost');
      assert.equal((await topologies.get('photos', genesis.id))?.state, 'current');
      assert.equal(await topologies.open(first), second.id, 'the second still holds the slot');
    });

    it('a proposal expired after its T-th vote can still be switched to, once: the switch is conditional on the parent', async (world) => {
      // Prepare
      const { topologies } = world;
      const { genesis, first, second, since } = await genesisWithTwoProposals(world);
      await topologies.open(first);
      for (const unit of [0, 1, 2, 3, 4]) await topologies.vote('photos', first.id, unit);
      await topologies.expire('photos', first.id);
      await topologies.open(second);

      // Act
      const switched = await topologies.switchVault('photos', genesis.id, {
        id: first.id,
        topology: first.topology,
        since: since + 1,
      });
      await topologies.settle('photos', first.id, 'current', since + 1);
      const also = await topologies.switchVault('photos', genesis.id, {
        id: second.id,
        topology: second.topology,
        since: since + 2,
      });

      // Assess
      assert.equal(switched, true);
      assert.equal(also, false);
      assert.equal((await topologies.current('photos')).id, first.id);
      assert.equal((await topologies.get('photos', first.id))?.state, 'current');
      assert.equal(await topologies.open(recordOf(first.topology, 'open')), second.id);
    });
  });
}
