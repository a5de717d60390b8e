/** The ports of the listeners system; `shared/aws/listeners/` implements them. */
import type { DeliveryStats, Listener } from './listener.ts';
import type { NodeMessage } from './listener-event.ts';

/** One entry of the participant structure: the nodes with listeners on a path, and its version. */
export interface ParticipantEntry {
  path: string;
  nodes: number[];
  /** Grows with every change of the entry; a removal names the version it saw. */
  version: number;
}

/**
 * The participant structure: per `(vault, path)`, the delivery nodes that have listeners there.
 * An entry's version says how current it is: joining bumps it, so a removal conditional on an
 * older version cannot undo a join it did not see.
 */
export interface ParticipantStore {
  /** The entries of `paths` that exist, in one read (a missing path has no entry). */
  read(vault: string, paths: string[]): Promise<ParticipantEntry[]>;
  /** Adds `node` to the entry of `path` (creating it) and bumps its version. */
  join(vault: string, path: string, node: number): Promise<void>;
  /**
   * Removes `node` from the entry of `path` if its version is still `version`, bumping it.
   * False when the entry moved on (someone joined meanwhile) and was left as it is.
   */
  leave(vault: string, path: string, node: number, version: number): Promise<boolean>;
}

/**
 * A store's answer that the listener's node can hold no more listeners (all of them, or on the
 * listener's path): its items are full. The registry places the listener on another node.
 */
export class NodeFullError extends Error {
  override name = 'NodeFullError';
  readonly node: number;
  constructor(node: number, what: string, options?: { cause?: unknown }) {
    super(`listener node ${node} holds no more listeners ${what}`, options);
    this.node = node;
  }
}

/** The initiator structure: per node, per `(vault, path)`, the listeners that node serves. */
export interface InitiatorStore {
  /** `node`'s listeners on each of `paths`, in one read; a path with none maps to `[]`. */
  read(node: number, vault: string, paths: string[]): Promise<Map<string, Listener[]>>;
  /**
   * Adds the listener under its node and path (again: no change).
   * @throws NodeFullError when the node holds no more listeners on that path
   */
  add(listener: Listener): Promise<void>;
  /** Removes it (already gone: no change). */
  remove(listener: Pick<Listener, 'node' | 'vault' | 'path' | 'id'>): Promise<void>;
}

/** Listener records by vault and id, with their delivery counts and the nodes' loads. */
export interface ListenerStore {
  /**
   * Stores a new listener and counts it on its node. Idempotent: a create repeated (a retry, a
   * crash part-way) leaves one record counted once.
   * @throws NodeFullError when the node can count no more listeners (its record may be stored)
   */
  create(listener: Listener): Promise<void>;
  get(vault: string, id: string): Promise<(Listener & DeliveryStats) | undefined>;
  /** Every listener of the vault, in creation order of their ids. */
  list(vault: string): Promise<Listener[]>;
  /**
   * Uncounts the listener from its node and removes its record; false when the record was not
   * there. Idempotent: a delete repeated uncounts it once, whatever step an earlier one died at.
   */
  delete(listener: Pick<Listener, 'vault' | 'id' | 'node'>): Promise<boolean>;
  /**
   * Moves a temporary listener's expiry to `expiresAt` (epoch seconds) and returns it renewed;
   * undefined when it is gone, expired already, or not temporary.
   */
  renew(vault: string, id: string, expiresAt: number): Promise<Listener | undefined>;
  /**
   * Makes a listener made temporary while it was created permanent: its expiry goes, and so
   * does it from the temporary listeners the sweep reads. Idempotent: one permanent already is
   * answered as it is (its sweep entry dropped, should a make have died before that). Undefined
   * when it is gone or expired.
   */
  makePermanent(vault: string, id: string): Promise<Listener | undefined>;
  /** Temporary listeners whose expiry is at or before `now` (epoch ms), not yet deleted. */
  expiredTemporary(now: number): Promise<Listener[]>;
  /** How many listeners each of nodes `0..count-1` serves. */
  nodeLoads(count: number): Promise<number[]>;
  /** Counts one delivery (a listener deleted meanwhile is left deleted). */
  delivered(vault: string, id: string, at: Date): Promise<void>;
  /** Counts one event given up on, with why, and keeps it as the listener's dead letter. */
  failed(vault: string, id: string, error: string, document: unknown): Promise<void>;
}

/** `dsn watch`'s queues, as the sweep removes those of expired listeners. */
export interface WatchQueues {
  /** Deletes the queue; one already gone is no error. */
  remove(queueUrl: string): Promise<void>;
}

/**
 * The per-key event counter (`sequence` in the event document), and how far its numbers have
 * been sent: announcements of one key take turns, so the nodes get them in sequence order.
 */
export interface SequenceCounter {
  /** The next number for `(vault, key)` (1, 2, 3...), and the highest one already sent then. */
  next(vault: string, key: string): Promise<{ sequence: number; sent: number }>;
  /** The highest number whose messages are out (0 for none). */
  sent(vault: string, key: string): Promise<number>;
  /** Records that `sequence`'s messages are out; a lower number than recorded changes nothing. */
  markSent(vault: string, key: string, sequence: number): Promise<void>;
}

/** The delivery nodes' queues (FIFO; the message group is the key). */
export interface NodeQueues {
  /** How many nodes there are. */
  readonly count: number;
  send(node: number, message: NodeMessage): Promise<void>;
}

/** A webhook's answer, or why there was none. */
export type WebhookOutcome = { status: number } | { error: string };

/** Where events leave the system: the listeners' targets. Each call is one attempt. */
export interface TargetSender {
  sendToQueue(queueUrl: string, body: string, groupId: string, dedupId: string): Promise<void>;
  postWebhook(
    url: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<WebhookOutcome>;
  invokeAsync(functionName: string, body: string): Promise<void>;
}
