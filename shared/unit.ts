/**
 * A storage unit: one pillar's bucket, fed by its queue on the network topic. For each
 * multicast message it checks that the address is one it is subscribed to (SNS already
 * filtered, but a unit does not trust the network), keeps the slices whose names belong to it,
 * stores or verifies them, and sends a status per slice to the status group. Every step is
 * idempotent: a redelivered message neither rewrites a stored slice nor counts twice.
 */
import { InvalidSliceError } from './errors.ts';
import type { SliceEnvelope, UnitMessage } from './multicast.ts';
import type { Multicast, SliceStore } from './ports.ts';
import type { UnitStatus } from './revision.ts';
import { decodeSlice, s3Crc32 } from './slice-header.ts';
import { parseSliceName } from './slice-name.ts';

/** The addresses this unit is subscribed to. */
export interface SubscriptionView {
  addresses(options?: { refresh: boolean }): Promise<Set<string>>;
}

export interface UnitDeps {
  unit: number;
  slices: SliceStore;
  multicast: Multicast;
  subscriptions: SubscriptionView;
  /** Called for each message ignored as foreign, with why (a counter or a log line). */
  foreign: (reason: string) => void;
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
    const existing = await deps.slices.head(deps.unit, s.name);
    const stored =
      existing !== undefined && existing.size === s.size && (existing.crc32 ?? s.crc32) === s.crc32;
    if (s.data === undefined) {
      // Claim-check: the writer put it; storing is verifying what is there.
      if (!existing) return status(false, 'slice not found in the bucket');
      return stored
        ? status(true)
        : status(false, 'stored slice does not match its checksum or size');
    }
    if (stored) return status(true);
    const bytes = Buffer.from(s.data, 'base64');
    if (s3Crc32(bytes) !== s.crc32)
      return status(false, 'inline slice does not match its checksum');
    decodeSlice(bytes, s.name);
    await deps.slices.put(deps.unit, s.name, bytes, s.crc32);
    return status(true);
  } catch (err) {
    if (err instanceof InvalidSliceError) return status(false, err.message);
    return status(false, `${(err as Error).name}: ${(err as Error).message}`);
  }
}

/**
 * Handles one multicast message. Returns how many of this unit's slices were confirmed.
 * A failure to publish a status throws, so the message is redelivered.
 */
export async function storeSlicesOnce(
  deps: UnitDeps,
  message: UnitMessage,
  attributeAddress: string | undefined,
): Promise<{ ignored: boolean; confirmed: number; failed: number }> {
  const address = attributeAddress ?? message.address;
  if (address !== message.address) {
    deps.foreign(`address attribute ${address} differs from the message's ${message.address}`);
    return { ignored: true, confirmed: 0, failed: 0 };
  }
  let subscribed = await deps.subscriptions.addresses();
  // A vault created a moment ago may not be in a cached view yet: look once more before refusing.
  if (!subscribed.has(address)) subscribed = await deps.subscriptions.addresses({ refresh: true });
  if (!subscribed.has(address)) {
    deps.foreign(`not subscribed to ${address}`);
    return { ignored: true, confirmed: 0, failed: 0 };
  }
  const mine = message.slices.filter((s) => s.unit === deps.unit);
  let confirmed = 0;
  let failed = 0;
  for (const s of mine) {
    const status = await storeOne(deps, message, s);
    await deps.multicast.status(message.address, status);
    if (status.ok) confirmed++;
    else failed++;
  }
  return { ignored: false, confirmed, failed };
}
