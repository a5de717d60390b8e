/**
 * The first message module of seed 002: where an event happens (the committer, the delete path,
 * the rebuilder), one batch read of the participant entries of the key and its ancestors finds
 * the listening nodes, and each gets one message, however many listeners it serves.
 */
import { createHash } from 'node:crypto';
import type { ObjectEvent } from '../store/index.ts';
import { pathsOf } from './listen-path.ts';
import { type MatchedPath, sequenced } from './listener-event.ts';
import type { NodeQueues, ParticipantStore, SequenceCounter } from './ports.ts';

export interface FanOutDeps {
  participants: ParticipantStore;
  sequences: SequenceCounter;
  nodes: NodeQueues;
}

/** What one announcement cost: the paths read, and the messages sent. */
export interface FanOutResult {
  pathsRead: number;
  messages: number;
}

/**
 * Announces `event` to the nodes listening on its key or an ancestor. At least once: a rerun
 * sends the same event id again (a node queue drops a duplicate within five minutes), though with
 * a new sequence number. Keys nobody listens to cost one read and no sequence number.
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
  const sequence = await deps.sequences.next(event.vault, event.key);
  const message = sequenced(event, sequence);
  await Promise.all(
    [...byNode].map(([node, matched]) => deps.nodes.send(node, { event: message, matched })),
  );
  return { pathsRead: paths.length, messages: byNode.size };
}

/**
 * A node queue's message group for a key: every event of one key goes through one group, in
 * order. Hashed, since a group id has at most 128 characters and a key up to 1,024 bytes.
 */
export function messageGroupOf(vault: string, key: string): string {
  return createHash('sha256').update(`${vault}\u0000${key}`).digest('hex');
}
