/**
 * A listeners world in memory for unit tests: a vault, the structures, N node queues, targets
 * that record, and `pump()`, which runs every node's waiting messages as the node functions do.
 */
import {
  DEFAULT_RETRY,
  deliverOnNode,
  type FanOutDeps,
  fanOut,
  type NodeDeps,
  type NodeOutcome,
  type RegistryDeps,
} from '../../shared/listeners/index.ts';
import { silentLogger } from '../../shared/log.ts';
import { deletedEvent, type ObjectEvent } from '../../shared/store/index.ts';
import { planVault } from '../../shared/store/vault.ts';
import { ManualClock } from './clock.ts';
import {
  MemoryInitiators,
  MemoryListenerStore,
  MemoryNodeQueues,
  MemoryParticipants,
  MemoryVaultStore,
  RecordingTargets,
} from './memory/index.ts';

export function listenersWorld(nodeCount = 4) {
  const clock = new ManualClock();
  const vault = planVault(
    { name: 'photos', width: 3, readThreshold: 2, writeThreshold: 2 },
    3,
    [],
    clock.date(),
  );
  const participants = new MemoryParticipants();
  const initiators = new MemoryInitiators();
  const listeners = new MemoryListenerStore(() => clock.now());
  const nodes = new MemoryNodeQueues(nodeCount);
  const targets = new RecordingTargets();
  const registry: RegistryDeps = {
    vaults: new MemoryVaultStore([vault]),
    listeners,
    initiators,
    participants,
    nodeCount,
    clock,
  };
  const fanOutDeps: FanOutDeps = { participants, sequences: participants, nodes, clock };
  const nodeDeps = (node: number): NodeDeps => ({
    node,
    participants,
    initiators,
    listeners,
    targets,
    retry: DEFAULT_RETRY,
    // Retries do not wait here: a test that looks at the delays brings its own clock.
    clock: { now: () => clock.now(), date: () => clock.date(), sleep: async () => {} },
    log: silentLogger,
  });
  let revisions = 0;
  const committed = (key: string): ObjectEvent => ({
    type: 'object.committed',
    vault: 'photos',
    key,
    revision: `r${++revisions}`,
    size: 3,
    sha256: 'ab'.repeat(32),
    time: clock.date().toISOString(),
  });
  return {
    clock,
    participants,
    initiators,
    listeners,
    nodes,
    targets,
    registry,
    fanOutDeps,
    nodeDeps,
    committed,
    deleted: (key: string) => deletedEvent('photos', key, `r${revisions}`, clock.date()),
    announce: (event: ObjectEvent) => fanOut(fanOutDeps, event),
    /** Runs each node's waiting messages, in order per node; returns what each did. */
    async pump(): Promise<NodeOutcome[]> {
      const outcomes: NodeOutcome[] = [];
      for (let node = 0; node < nodeCount; node++)
        for (const message of nodes.take(node))
          outcomes.push(await deliverOnNode(nodeDeps(node), message));
      return outcomes;
    },
  };
}
