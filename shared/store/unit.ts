/**
 * A storage unit: one pillar's bucket, fed by its queue on the network topic. For each
 * multicast message it checks that the address is one it is subscribed to (SNS already
 * filtered, but a unit does not trust the network), keeps the slices whose names belong to it,
 * stores or verifies them, and sends their statuses to the status group, one message for all
 * the messages of a batch. Every step is idempotent: a redelivered message neither rewrites a
 * stored slice nor counts twice, and slices are create-only: other bytes under a stored name are
 * refused and counted.
 */

import type { Clock } from '../clock.ts';
import { decodeSlice, parseSliceName, s3Crc32 } from '../codec/index.ts';
import { InvalidSliceError } from '../errors.ts';
import { heldReads } from '../held-reads.ts';
import type { SliceEnvelope, UnitMessage } from './multicast.ts';
import type { Multicast, SliceStore, SubscriptionView } from './ports.ts';
import { revisionTime, type UnitStatus } from './revision.ts';
import { SUPERSEDED_GRACE_MS, type TopologyNow } from './superseded-write.ts';

// The grace of a superseded topology: defined beside the commit fence, which bounds it too.
export { SUPERSEDED_GRACE_MS } from './superseded-write.ts';

/**
 * How long a unit trusts the vault's current topology it read, for a message naming that
 * topology. Shorter than the grace, so such a message is never wrongly taken: a view read
 * before a switch is used less than TOPOLOGY_VIEW_MS after it, when any revision that reaches
 * the unit began within the grace and is taken anyway. A message naming another topology is
 * judged on a fresh read: a stale view must not refuse a write under a topology that just
 * became current.
 */
export const TOPOLOGY_VIEW_MS = 1000;

export type { TopologyNow } from './superseded-write.ts';

/**
 * `read` (a vault's current topology) remembered for TOPOLOGY_VIEW_MS per vault, unless asked
 * `fresh` (which renews it): a unit takes one message per write, and read the vault record
 * for each. Concurrent asks share one read; a failed read is not remembered.
 */
export function topologyView(
  clock: Clock,
  read: (vault: string) => Promise<TopologyNow>,
): (vault: string, options?: { fresh?: boolean }) => Promise<TopologyNow> {
  return heldReads(read, { now: () => clock.now(), ms: TOPOLOGY_VIEW_MS });
}

export interface UnitDeps {
  unit: number;
  slices: SliceStore;
  multicast: Multicast;
  subscriptions: SubscriptionView;
  /** Called for each message ignored as foreign, with why (a counter or a log line). */
  foreign: (reason: string, delivery: UnitDelivery) => void;
  /** Called for each inline slice refused because other bytes already hold its name. */
  conflict: (sliceName: string) => void;
  /**
   * Why this unit refuses every slice of `vault` now (an operator froze it here), or
   * undefined when it takes them. Refused slices get unfavorable statuses, so a write to a
   * frozen vault that got past the API fails at once instead of timing out.
   */
  refusal?: (vault: string) => Promise<string | undefined>;
  /**
   * The vault's current topology id and since when (epoch ms), at most TOPOLOGY_VIEW_MS old
   * (`topologyView`) unless asked `fresh`; without it, the unit does not check the topology a
   * message was written under.
   */
  currentTopology?: (vault: string, options?: { fresh?: boolean }) => Promise<TopologyNow>;
}

/**
 * Fresh reads of a vault's current topology made for one batch, by vault: a batch of several
 * messages under an old id (right after a switch) reads the vault afresh once, not per message.
 */
type FreshReads = Map<string, Promise<TopologyNow>>;

/** Why a message's revision may not be stored under the topology it names, if it may not. */
async function supersededBy(
  deps: UnitDeps,
  message: UnitMessage,
  fresh: FreshReads,
): Promise<string | undefined> {
  const currentTopology = deps.currentTopology;
  if (!currentTopology) return undefined;
  let now = await currentTopology(message.vault);
  if (now.id === undefined || message.topology === now.id) return undefined;
  // Another topology than the one this unit saw: only a fresh read may refuse it.
  let read = fresh.get(message.vault);
  if (!read) {
    read = currentTopology(message.vault, { fresh: true });
    fresh.set(message.vault, read);
  }
  now = await read;
  if (now.id === undefined || message.topology === now.id) return undefined;
  // A revision begun before the switch (plus the writers' cache time) finishes where it began.
  if (revisionTime(message.revision) <= (now.since ?? 0) + SUPERSEDED_GRACE_MS) return undefined;
  return `written under topology ${message.topology ?? '(none)'}, superseded by ${now.id}: new writes must use the current topology`;
}

async function storeOne(
  deps: UnitDeps,
  message: UnitMessage,
  s: SliceEnvelope,
): Promise<UnitStatus> {
  const status = (ok: boolean, reason?: string): UnitStatus => ({
    vault: message.vault,
    revision: message.revision,
    segment: message.segment,
    pillar: s.pillar,
    unit: deps.unit,
    ok,
    ...(reason ? { reason } : {}),
  });
  const name = parseSliceName(s.name);
  if (
    name.vault !== message.vault ||
    name.revision !== message.revision ||
    name.segment !== message.segment ||
    name.pillar !== s.pillar
  ) {
    return status(false, `slice name ${s.name} does not belong to this message`);
  }
  if (s.missing) return status(false, `the writer could not place it: ${s.missing}`);
  try {
    const matches = (found: { size: number; crc32?: string } | undefined) =>
      found !== undefined && found.size === s.size && (found.crc32 ?? s.crc32) === s.crc32;
    if (s.data === undefined) {
      // Claim-check: the writer put it; storing is verifying what is there.
      const existing = await deps.slices.head(deps.unit, s.name);
      if (!existing) return status(false, 'slice not found in the bucket');
      return matches(existing)
        ? status(true)
        : status(false, 'stored slice does not match its checksum or size');
    }
    const bytes = Buffer.from(s.data, 'base64');
    if (s3Crc32(bytes) !== s.crc32)
      return status(false, 'inline slice does not match its checksum');
    decodeSlice(bytes, s.name);
    // One request when the slice is new; a redelivery finds it and rewrites nothing.
    if ((await deps.slices.create(deps.unit, s.name, bytes, s.crc32)) === 'created')
      return status(true);
    if (matches(await deps.slices.head(deps.unit, s.name))) return status(true);
    // Other bytes hold the name. Slices are create-only: a message never replaces a stored
    // slice (a forged one could swap a pillar's bytes); what is there stays, and if it is
    // damaged the rebuilder regenerates it from the other pillars.
    deps.conflict(s.name);
    return status(false, 'other bytes already hold this slice name; they are kept');
  } catch (err) {
    if (err instanceof InvalidSliceError) return status(false, err.message);
    return status(false, `${(err as Error).name}: ${(err as Error).message}`);
  }
}

/** One multicast message as a unit's queue delivered it. */
export interface UnitDelivery {
  message: UnitMessage;
  /** The address in the message attribute, which SNS filtered on. */
  attributeAddress: string | undefined;
  /** The queue's id for the message, for logs. */
  messageId?: string;
}

export interface UnitOutcome {
  ignored: boolean;
  confirmed: number;
  failed: number;
}

async function statusesOf(
  deps: UnitDeps,
  delivery: UnitDelivery,
  fresh: FreshReads,
): Promise<UnitStatus[] | undefined> {
  const { message, attributeAddress } = delivery;
  const address = attributeAddress ?? message.address;
  if (address !== message.address) {
    deps.foreign(
      `address attribute ${address} differs from the message's ${message.address}`,
      delivery,
    );
    return undefined;
  }
  let subscribed = await deps.subscriptions.addresses();
  // A vault created a moment ago may not be in a cached view yet: look once more before refusing.
  if (!subscribed.has(address)) subscribed = await deps.subscriptions.addresses({ refresh: true });
  if (!subscribed.has(address)) {
    deps.foreign(`not subscribed to ${address}`, delivery);
    return undefined;
  }
  const mine = message.slices.filter((s) => s.unit === deps.unit);
  if (mine.length === 0) return [];
  // A vault frozen here (an operator's vault.freeze), or a revision written under a superseded
  // topology: this unit's slices of it are refused, with why. The two reads (when not cached)
  // and the check of claim-checked slices, a HEAD that changes nothing, go out together: a
  // status waits for the slowest of them, not for their sum. Inline slices are stored only
  // once the write is known to be taken.
  const refusal = Promise.all([
    deps.refusal?.(message.vault),
    supersededBy(deps, message, fresh),
  ]).then(([frozen, superseded]) => frozen ?? superseded);
  const verified = mine.map((s) => (s.data === undefined ? storeOne(deps, message, s) : undefined));
  // Marked handled at once: one may fail while the checks are still out, and its outcome is not
  // wanted if they fail or refuse. When it is wanted, it is awaited below, failure and all.
  for (const v of verified) v?.catch(() => {});
  const refused = await refusal;
  if (refused !== undefined)
    return mine.map((s) => ({
      vault: message.vault,
      revision: message.revision,
      segment: message.segment,
      pillar: s.pillar,
      unit: deps.unit,
      ok: false,
      reason: refused,
    }));
  return Promise.all(mine.map((s, i) => verified[i] ?? storeOne(deps, message, s)));
}

/**
 * Handles the multicast messages of one batch: stores or verifies this unit's slices of all of
 * them at once, then sends one status message per address for the whole batch. A delivery is
 * settled only once its statuses are sent: a failed publish rejects the deliveries it carried,
 * and those messages must come again (storing is idempotent, so they only re-verify).
 */
export async function storeSlicesOnce(
  deps: UnitDeps,
  deliveries: UnitDelivery[],
): Promise<PromiseSettledResult<UnitOutcome>[]> {
  const fresh: FreshReads = new Map();
  const stored = await Promise.allSettled(deliveries.map((d) => statusesOf(deps, d, fresh)));
  const byAddress = new Map<string, UnitStatus[]>();
  stored.forEach((r, i) => {
    if (r.status !== 'fulfilled' || !r.value?.length) return;
    const address = (deliveries[i] as UnitDelivery).message.address;
    byAddress.set(address, [...(byAddress.get(address) ?? []), ...r.value]);
  });
  const sent = new Map<string, Promise<void>>();
  for (const [address, statuses] of byAddress)
    sent.set(address, deps.multicast.statuses(address, statuses));
  return Promise.allSettled(
    stored.map(async (r, i): Promise<UnitOutcome> => {
      if (r.status === 'rejected') throw r.reason;
      if (r.value === undefined) return { ignored: true, confirmed: 0, failed: 0 };
      if (r.value.length > 0) await sent.get((deliveries[i] as UnitDelivery).message.address);
      const confirmed = r.value.filter((s) => s.ok).length;
      return { ignored: false, confirmed, failed: r.value.length - confirmed };
    }),
  );
}
