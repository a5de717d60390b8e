/**
 * Listeners on the path tree (seed 002): the participant and initiator structures, the
 * announcement of an event to one message per listening node, and each node's delivery to its
 * own listeners. Other systems import this file only.
 */
export { everyBus, listenerBus, listenerTask } from './announcer.ts';
export type { ListenerEventType } from './event-types.ts';
export { type FanOutDeps, type FanOutResult, fanOut, messageGroupOf } from './fan-out.ts';
export { hears, listenPathSchema, pathsOf } from './listen-path.ts';
export {
  type DeliveryStats,
  expired,
  isWatchQueue,
  isWatchQueueOf,
  type Listener,
  listenerRequestSchema,
  publicListener,
  renewalSchema,
  type Target,
  WATCH_QUEUE_PREFIX,
  watchQueueName,
} from './listener.ts';
export {
  type MatchedPath,
  type NodeMessage,
  nodeMessageSchema,
  type SequencedEvent,
} from './listener-event.ts';
export {
  createListener,
  listListeners,
  PROVISIONAL_SECONDS,
  type RegistryDeps,
  removeListener,
  renewListener,
  showListener,
} from './listener-registry.ts';
export {
  deliverOnNode,
  type NodeDeps,
  type NodeHooks,
  type NodeOutcome,
} from './node-delivery.ts';
export {
  type InitiatorStore,
  type ListenerStore,
  NodeFullError,
  type NodeQueues,
  type ParticipantEntry,
  type ParticipantStore,
  type SequenceCounter,
  type TargetSender,
  type WatchQueues,
  type WebhookOutcome,
} from './ports.ts';
export {
  DEFAULT_RETRY,
  type RetryPolicy,
  signature,
} from './target-delivery.ts';
export {
  type SweepDeps,
  type SweepReport,
  sweepTemporaryListeners,
} from './temporary-listeners.ts';
