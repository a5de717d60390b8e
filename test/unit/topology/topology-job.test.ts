import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ProposalRecord,
  publicTopologyJob,
  startTopologyJob,
  type Topology,
  type TopologyJob,
  topologyId,
} from '../../../shared/topology/index.ts';
import { ManualClock } from '../../helpers/clock.ts';

function record(t: Omit<Topology, 'vault' | 'units'> & { units: number[] }): ProposalRecord {
  const topology: Topology = {
    ...t,
    vault: 'photos',
    units: t.units.map((unit) => ({ unit, bucket: `b${unit}`, region: 'us-east-1', endpoint: '' })),
  };
  return {
    vault: 'photos',
    id: topologyId(topology),
    topology,
    state: 'current',
    votes: [],
    refusals: [],
    createdAt: '2026-12-01T00:00:00.000Z',
    currentSince: 1000,
  };
}

/** Starts the job of `current` over `parent` with a job store and trigger that record. */
async function started(parent: ProposalRecord, current: ProposalRecord) {
  const stored: TopologyJob[] = [];
  const triggered: string[] = [];
  const job = await startTopologyJob(
    {
      jobs: {
        get: async () => stored.at(-1),
        start: async (j) => {
          if (stored.at(-1)?.id !== j.id) stored.push(j);
          return stored.at(-1) as TopologyJob;
        },
        lease: async () => true,
        noteLateWrite: async () => {},
        reopen: async () => false,
        save: async () => true,
      },
      trigger: { continue: async (_vault, id) => void triggered.push(id) },
      clock: new ManualClock(),
    },
    current,
    parent,
  );
  return { job, stored, triggered };
}

const genesis = record({
  parent: null,
  units: [0, 1, 2, 3, 4, 5],
  width: 6,
  readThreshold: 4,
  writeThreshold: 5,
  segmentSize: 65536,
});

test("a change of one pillar's unit is a replace job of that unit; a change of geometry is a re-stripe", async () => {
  // Prepare
  const replaced = record({ ...genesis.topology, parent: genesis.id, units: [0, 1, 2, 7, 4, 5] });
  const wider = record({
    ...genesis.topology,
    parent: genesis.id,
    units: [0, 1, 2, 3, 4, 5, 6, 7],
    width: 8,
    readThreshold: 6,
    writeThreshold: 7,
  });

  // Act
  const a = await started(genesis, replaced);
  const b = await started(genesis, wider);

  // Assess
  assert.equal(a.job.kind, 'replace');
  assert.deepEqual(a.job.move, { from: 3, to: 7 });
  assert.equal(a.job.since, 1000);
  assert.deepEqual(a.triggered, [replaced.id]);
  assert.equal(b.job.kind, 'restripe');
  assert.equal(b.job.move, undefined);
});

test('a job shows its progress and an ETA from its rate, 0 once done', async () => {
  // Prepare
  const { job } = await started(
    genesis,
    record({ ...genesis.topology, parent: genesis.id, units: [0, 1, 2, 7, 4, 5] }),
  );

  // Act and assess
  assert.equal(publicTopologyJob(job).etaSeconds, null);
  const halfway = { ...job, segmentsTotal: 100, segmentsDone: 50, moveMs: 10_000 };
  const shown = publicTopologyJob(halfway);
  assert.deepEqual(
    [shown.state, shown.segmentsDone, shown.segmentsTotal, shown.etaSeconds],
    ['running', 50, 100, 10],
  );
  assert.equal(publicTopologyJob({ ...halfway, state: 'done' }).etaSeconds, 0);
});
