/**
 * The listeners system's wiring: what the places where events happen need to announce them,
 * what the HTTP API needs to manage listeners, and what a delivery node needs. Each reads only
 * its own configuration.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { listenerNodeIndex, loadConfig } from '../../config.ts';
import {
  DEFAULT_RETRY,
  type FanOutDeps,
  type NodeDeps,
  type RegistryDeps,
  type SweepDeps,
} from '../../listeners/index.ts';
import { CachingVaultStore } from '../../store/index.ts';
import { SDK_CLIENT_OPTIONS } from '../clients.ts';
import type { Runtime } from '../runtime.ts';
import { DynamoVaultStore } from '../store/vault-store.ts';
import { AwsTargetSender, SqsNodeQueues, SqsWatchQueues } from './delivery.ts';
import { DynamoInitiators, DynamoListenerStore } from './listener-tables.ts';
import { DynamoParticipants } from './participants.ts';

/** The announcers (committer, delete path, rebuilder): participant entries, sequences, node queues. */
export function wireFanOut(rt: Runtime): FanOutDeps {
  const config = loadConfig(rt.env, ['participantsTable', 'listenerNodeQueueUrls']);
  const participants = new DynamoParticipants(rt.clients.documents, config.participantsTable);
  return {
    participants,
    sequences: participants,
    nodes: new SqsNodeQueues(rt.clients.sqs, config.listenerNodeQueueUrls),
    clock: rt.clock,
  };
}

/** The HTTP API's listener management. */
export function wireListenerRegistry(rt: Runtime): RegistryDeps {
  const config = loadConfig(rt.env, [
    'vaultsTable',
    'participantsTable',
    'listenersTable',
    'listenerNodeQueueUrls',
  ]);
  return {
    vaults: new CachingVaultStore(new DynamoVaultStore(rt.clients.documents, config.vaultsTable), {
      clock: rt.clock,
    }),
    listeners: new DynamoListenerStore(rt.clients.documents, config.listenersTable, rt.clock.now),
    initiators: new DynamoInitiators(rt.clients.documents, config.listenersTable),
    participants: new DynamoParticipants(rt.clients.documents, config.participantsTable),
    nodeCount: config.listenerNodeQueueUrls.length,
    clock: rt.clock,
  };
}

let lambda: LambdaClient | undefined;

/** A delivery node's function: its index, its tables, and the targets it sends to. */
export function wireListenerNode(rt: Runtime): NodeDeps {
  const config = loadConfig(rt.env, ['participantsTable', 'listenersTable']);
  return {
    node: listenerNodeIndex(rt.env),
    participants: new DynamoParticipants(rt.clients.documents, config.participantsTable),
    initiators: new DynamoInitiators(rt.clients.documents, config.listenersTable),
    listeners: new DynamoListenerStore(rt.clients.documents, config.listenersTable, rt.clock.now),
    targets: new AwsTargetSender(rt.clients.sqs, () => {
      lambda ??= new LambdaClient({ ...SDK_CLIENT_OPTIONS });
      return lambda;
    }),
    retry: DEFAULT_RETRY,
    clock: rt.clock,
    log: rt.log,
  };
}

/** The janitor's sweep of expired temporary listeners and their watch queues. */
export function wireListenerSweep(rt: Runtime): SweepDeps {
  const config = loadConfig(rt.env, ['participantsTable', 'listenersTable']);
  return {
    listeners: new DynamoListenerStore(rt.clients.documents, config.listenersTable, rt.clock.now),
    initiators: new DynamoInitiators(rt.clients.documents, config.listenersTable),
    participants: new DynamoParticipants(rt.clients.documents, config.participantsTable),
    watchQueues: new SqsWatchQueues(rt.clients.sqs),
    clock: rt.clock,
    log: rt.log,
  };
}
