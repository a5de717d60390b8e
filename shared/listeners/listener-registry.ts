/**
 * Creating, showing and removing listeners. Order matters against the node's pruning: a new
 * listener enters the initiator structure before its node joins the participant entry (a join
 * bumps the entry's version, so a prune that read the entry before it fails), and a removal
 * leaves the initiator structure before its node leaves the entry, which it does conditionally
 * on a version read before it looked at the initiator structure.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { InvalidParameterError, ListenerCapacityError, ListenerNotFoundError } from '../errors.ts';
import type { VaultStore } from '../store/index.ts';
import { parseWith } from '../validate.ts';
import {
  type DeliveryStats,
  type Listener,
  listenerRequestSchema,
  publicListener,
  renewalSchema,
  withDefaults,
} from './listener.ts';
import {
  type InitiatorStore,
  type ListenerStore,
  NodeFullError,
  type ParticipantStore,
} from './ports.ts';

export interface RegistryDeps {
  vaults: Pick<VaultStore, 'get'>;
  listeners: ListenerStore;
  initiators: InitiatorStore;
  participants: ParticipantStore;
  /** How many delivery nodes the pool has. */
  nodeCount: number;
  clock: Clock;
}

/** Ids sort by creation time, then at random. */
function newListenerId(now: number): string {
  return `l${now.toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;
}

/** The nodes, those serving the fewest listeners first (the lowest index on a tie). */
function byLoad(loads: number[]): number[] {
  return loads.map((_, node) => node).sort((a, b) => (loads[a] ?? 0) - (loads[b] ?? 0) || a - b);
}

/**
 * How long a permanent listener is temporary while it is made (seconds): should its creator
 * die between the steps, it expires then and the janitor's sweep of temporary listeners
 * removes what was made of it, as it removes a killed watch's.
 */
export const PROVISIONAL_SECONDS = 120;

/**
 * Creates a listener from a request body, on the least loaded node, or the next one whose items
 * have room should that one's be full (NodeFullError). A permanent one is made temporary
 * (PROVISIONAL_SECONDS) and turned permanent last, its node's copy before its record: a creator
 * killed at any step leaves a temporary listener that expires and is swept, never a listed
 * listener its node does not serve. One that fails is undone before the error answers.
 * @throws InvalidParameterError for a bad body; VaultNotFoundError for an unknown vault;
 * ListenerCapacityError when no node has room.
 */
export async function createListener(deps: RegistryDeps, vault: string, body: unknown) {
  const request = parseWith(listenerRequestSchema, body);
  await deps.vaults.get(vault);
  const now = deps.clock.now();
  for (const node of byLoad(await deps.listeners.nodeLoads(deps.nodeCount))) {
    // A new id on each node: an undo that failed leaves nothing this attempt would meet.
    const listener: Listener = {
      id: newListenerId(now),
      vault,
      ...withDefaults(request),
      node,
      createdAt: new Date(now).toISOString(),
      ...(request.ttlSeconds === undefined
        ? {}
        : { expiresAt: Math.ceil(now / 1000) + request.ttlSeconds }),
    };
    try {
      return await createOn(deps, listener, now);
    } catch (err) {
      if (!(err instanceof NodeFullError)) throw err;
    }
  }
  throw new ListenerCapacityError(request.path, deps.nodeCount);
}

/** Creates `listener` on its node, or undoes what it made of it before it throws. */
async function createOn(deps: RegistryDeps, listener: Listener, now: number) {
  const { vault } = listener;
  const made =
    listener.expiresAt === undefined
      ? { ...listener, expiresAt: Math.ceil(now / 1000) + PROVISIONAL_SECONDS }
      : listener;
  try {
    // In the try: a node that cannot count it may have stored its record.
    await deps.listeners.create(made);
    await deps.initiators.add(made);
    await deps.participants.join(vault, listener.path, listener.node);
    if (made !== listener) {
      // The node's copy first: a record made permanent is never served by a copy that expires.
      await deps.initiators.add(listener);
      if (!(await deps.listeners.makePermanent(vault, listener.id)))
        throw new Error(
          `listener ${listener.id} took over ${PROVISIONAL_SECONDS} s to make, and expired: it is removed; create it again`,
        );
    }
  } catch (err) {
    // Never left half made (listed, but its node not serving its path): undone by the removal's
    // own steps, each idempotent, and the caller told. A caller that retries makes a new one.
    await unregister(deps, made).catch(() => {});
    throw err;
  }
  return publicListener(listener);
}

/** Takes `listener` out of its node's structure, then the participant entry, then the records. */
async function unregister(deps: RegistryDeps, listener: Listener): Promise<void> {
  await deps.initiators.remove(listener);
  await pruneEntry(deps, listener.vault, listener.path, listener.node);
  await deps.listeners.delete(listener);
}

/** The vault's listeners, those on `path` only when given. @throws VaultNotFoundError */
export async function listListeners(deps: RegistryDeps, vault: string, path?: string) {
  await deps.vaults.get(vault);
  const all = await deps.listeners.list(vault);
  return all.filter((l) => path === undefined || l.path === path).map(publicListener);
}

/** One listener with its delivery counts. @throws VaultNotFoundError, ListenerNotFoundError */
export async function showListener(deps: RegistryDeps, vault: string, id: string) {
  await deps.vaults.get(vault);
  const found = await deps.listeners.get(vault, id);
  if (!found) throw new ListenerNotFoundError(vault, id);
  const stats: DeliveryStats = {
    delivered: found.delivered,
    failed: found.failed,
    ...(found.lastError === undefined ? {} : { lastError: found.lastError }),
    ...(found.lastDeliveredAt === undefined ? {} : { lastDeliveredAt: found.lastDeliveredAt }),
  };
  return { ...publicListener(found), ...stats };
}

/**
 * Removes a listener: no event is delivered to it afterwards, and its node leaves the path's
 * participant entry when it serves no other listener there. Idempotent past the first call,
 * which alone answers; later ones find no listener.
 * @throws VaultNotFoundError, ListenerNotFoundError
 */
export async function removeListener(deps: RegistryDeps, vault: string, id: string) {
  await deps.vaults.get(vault);
  const found = await deps.listeners.get(vault, id);
  if (!found) throw new ListenerNotFoundError(vault, id);
  await unregister(deps, found);
}

/**
 * Gives a temporary listener `ttlSeconds` more from now (`dsn watch` renews its own while it
 * runs). Its node's copy is renewed too, since the node checks expiry on its own copy.
 * @throws InvalidParameterError for a bad body or a listener that is not temporary;
 *   VaultNotFoundError; ListenerNotFoundError (also for one already expired)
 */
export async function renewListener(deps: RegistryDeps, vault: string, id: string, body: unknown) {
  const { ttlSeconds } = parseWith(renewalSchema, body);
  await deps.vaults.get(vault);
  const found = await deps.listeners.get(vault, id);
  if (!found) throw new ListenerNotFoundError(vault, id);
  if (found.expiresAt === undefined)
    throw new InvalidParameterError(
      'ttlSeconds',
      'only a temporary listener (created with ttlSeconds) can be renewed',
    );
  const renewed = await deps.listeners.renew(
    vault,
    id,
    Math.ceil(deps.clock.now() / 1000) + ttlSeconds,
  );
  if (!renewed) throw new ListenerNotFoundError(vault, id);
  await deps.initiators.add(renewed);
  // Its node may have left the path meanwhile: its copy expired before the record did (a
  // renewal's write of the copy lost), so an event found no listener there and pruned the
  // entry. Joined again, after the copy, as a creation does; a prune that read the entry before
  // this join fails its version check.
  await deps.participants.join(vault, renewed.path, renewed.node);
  // A removal that ran meanwhile (dsn watch stopped while it renewed) took the record: what this
  // renewal put back for the node goes again, or a listener no one has would hear on.
  if (!(await deps.listeners.get(vault, id))) {
    await unregister(deps, renewed).catch(() => {});
    throw new ListenerNotFoundError(vault, id);
  }
  return publicListener(renewed);
}

/** Takes `node` out of the entry of `path` if it serves nobody there (see the file's comment). */
export async function pruneEntry(
  deps: Pick<RegistryDeps, 'participants' | 'initiators'>,
  vault: string,
  path: string,
  node: number,
) {
  const [entry] = await deps.participants.read(vault, [path]);
  if (!entry?.nodes.includes(node)) return;
  const own = await deps.initiators.read(node, vault, [path]);
  if ((own.get(path) ?? []).length > 0) return;
  await deps.participants.leave(vault, path, node, entry.version);
}
