/**
 * The first message module of seed 002: where an event happens (the committer, the delete path,
 * the rebuilder), one batch read of the participant entries of the key and its ancestors finds
 * the listening nodes, and each gets one message, however many listeners it serves.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { ObjectEvent } from '../store/index.ts';
import { pathsOf } from './listen-path.ts';
import { type MatchedPath, sequenced } from './listener-event.ts';
import type { NodeQueues, ParticipantStore, SequenceCounter } from './ports.ts';

export interface FanOutDeps {
  participants: ParticipantStore;
  sequences: SequenceCounter;
  nodes: NodeQueues;
  clock: Clock;
  /**
   * How long an announcement waits for the one numbered just before it to be sent (its
   * announcer may have died after taking the number); default `TURN_TIMEOUT_MS`.
   */
  turnTimeoutMs?: number;
}

/** A number taken and never sent holds the key's later events back this long, once. */
export const TURN_TIMEOUT_MS = 2000;
const TURN_POLL_MS = 10;

/** What one announcement cost: the paths read, and the messages sent. */
export interface FanOutResult {
  pathsRead: number;
  messages: number;
}

/**
 * Announces `event` to the nodes listening on its key or an ancestor. At least once: a rerun
 * sends the same event id again, with a later sequence number, and a node queue drops it as a
 * duplicate within five minutes (so numbers may skip, never go back). Keys nobody listens to
 * cost one read and no sequence number.
 */
export async function fanOut(deps: FanOutDeps, event: ObjectEvent): Promise<FanOutResult> {
  const paths = pathsOf(event.key);
  const entries = await deps.participants.read(event.vault, paths);
  const byNode = new Map<number, MatchedPath[]>();
  for (const entry of entries) {
    for (const node of entry.nodes) {
      if (node < 0 || node >= deps.nodes.count) continue; // a node the pool no longer has
      const matched = byNode.get(node) ?? [];
      matched.push({ path: entry.path, version: entry.version });
      byNode.set(node, matched);
    }
  }
  if (byNode.size === 0) return { pathsRead: paths.length, messages: 0 };
  const { sequence, sent } = await deps.sequences.next(event.vault, event.key);
  // Concurrent commits of one key take turns here: the node queues keep the order of sends,
  // so sending in number order is what makes each listener see the key's events in order.
  if (sent < sequence - 1) await waitForTurn(deps, event, sequence);
  const message = sequenced(event, sequence);
  await Promise.all(
    [...byNode].map(([node, matched]) => deps.nodes.send(node, { event: message, matched })),
  );
  await deps.sequences.markSent(event.vault, event.key, sequence);
  return { pathsRead: paths.length, messages: byNode.size };
}

/**
 * Waits until every number below `sequence` is sent, or the key's sends make no progress for the
 * turn timeout (a long queue of announcements is waited through; a dead announcer is not).
 */
async function waitForTurn(deps: FanOutDeps, event: ObjectEvent, sequence: number) {
  const timeout = deps.turnTimeoutMs ?? TURN_TIMEOUT_MS;
  let seen = -1;
  let until = deps.clock.now() + timeout;
  while (deps.clock.now() < until) {
    await deps.clock.sleep(TURN_POLL_MS);
    const sent = await deps.sequences.sent(event.vault, event.key);
    if (sent >= sequence - 1) return;
    if (sent > seen) {
      seen = sent;
      until = deps.clock.now() + timeout;
    }
  }
}

/**
 * A node queue's message group for a key: every event of one key goes through one group, in
 * order. Hashed, since a group id has at most 128 characters and a key up to 1,024 bytes.
 */
export function messageGroupOf(vault: string, key: string): string {
  return createHash('sha256').update(`${vault}\u0000${key}`).digest('hex');
}
