/**
 * The second message module of seed 002: a delivery node gets one message per event, looks up
 * its own listeners on the matched paths (the initiator structure), and hands the event to each
 * one that wants it. A matched path where it has no listener left is a stale participant entry:
 * it removes itself from it, conditionally on the version the announcement read, so a listener
 * that joined since is never dropped.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { expired, type Listener, wants } from './listener.ts';
import { eventDocument, type NodeMessage } from './listener-event.ts';
import type { InitiatorStore, ListenerStore, ParticipantStore, TargetSender } from './ports.ts';
import { deliverToTarget, type RetryPolicy } from './target-delivery.ts';

export interface NodeDeps {
  node: number;
  participants: ParticipantStore;
  initiators: InitiatorStore;
  listeners: ListenerStore;
  targets: TargetSender;
  retry: RetryPolicy;
  clock: Clock;
  log: Logger;
  /** Test-only fault injection (functions/listener-crash.ts); none in production. */
  hooks?: NodeHooks;
}

/** Points where a test may stop a node in its tracks, as a crash would. */
export interface NodeHooks {
  /** A listener got the event and it was counted; the message is not acknowledged yet. */
  afterDelivery?(listenerId: string, eventId: string): Promise<void>;
}

/** What a node did with one message. */
export interface NodeOutcome {
  delivered: number;
  failed: number;
  /** Matched paths where this node had no listener left, and left the participant entry. */
  pruned: string[];
}

/**
 * Delivers one node message to this node's listeners. At least once: a redelivered message goes
 * to every listener again with the same event id. Throws only when the node's own tables fail
 * (the message then comes again); a target that keeps failing is counted, not thrown.
 */
export async function deliverOnNode(deps: NodeDeps, message: NodeMessage): Promise<NodeOutcome> {
  const { event } = message;
  const own = await deps.initiators.read(
    deps.node,
    event.vault,
    message.matched.map((m) => m.path),
  );
  const outcome: NodeOutcome = { delivered: 0, failed: 0, pruned: [] };
  const now = deps.clock.now();
  const work: Promise<void>[] = [];
  for (const { path, version } of message.matched) {
    const listeners: Listener[] = [];
    for (const listener of own.get(path) ?? []) {
      // A temporary listener whose record expired leaves the node's structure on first sight.
      if (expired(listener, now)) await deps.initiators.remove(listener);
      else listeners.push(listener);
    }
    if (listeners.length === 0) {
      if (await deps.participants.leave(event.vault, path, deps.node, version))
        outcome.pruned.push(path);
      continue;
    }
    for (const listener of listeners) {
      if (!wants(listener, event.type, event.key)) continue;
      work.push(
        (async () => {
          const document = eventDocument(event, listener);
          const result = await deliverToTarget(deps, listener.target, document);
          if (result.ok) {
            outcome.delivered++;
            await deps.listeners.delivered(event.vault, listener.id, deps.clock.date());
            await deps.hooks?.afterDelivery?.(listener.id, event.id);
          } else {
            outcome.failed++;
            deps.log.warn('event given up', {
              listener: listener.id,
              event: event.id,
              attempts: result.attempts,
              lastError: result.error,
            });
            await deps.listeners.failed(event.vault, listener.id, result.error, document);
          }
        })(),
      );
    }
  }
  const settled = await Promise.allSettled(work);
  const broken = settled.find((s) => s.status === 'rejected');
  if (broken) throw broken.reason;
  return outcome;
}
