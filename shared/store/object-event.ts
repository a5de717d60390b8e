/**
 * The changes users can subscribe to (the vault events topic), and their constructors: the
 * committer, the delete path and the rebuilder each build their event here.
 */
import type { RevisionRecord } from './revision.ts';

export interface ObjectEvent {
  /**
   * `object.lost`: a rebuild found a segment with fewer than k good slices; `object.repaired`:
   * a rebuild healed a damaged segment of it; `object.quarantined`: the scanner found a
   * signature in it (seed 004), named in `signature`.
   */
  type:
    | 'object.committed'
    | 'object.deleted'
    | 'object.lost'
    | 'object.repaired'
    | 'object.quarantined';
  vault: string;
  key: string;
  revision: string;
  size?: number;
  sha256?: string;
  /** The signature an `object.quarantined` revision matched. */
  signature?: string;
  time: string;
}

/** A revision became visible. `now` stands in for a commit time the record lacks. */
export function committedEvent(record: RevisionRecord, now: Date): ObjectEvent {
  return {
    type: 'object.committed',
    vault: record.vault,
    key: record.key,
    revision: record.revision,
    size: record.size,
    sha256: record.sha256,
    time: record.committedAt ?? now.toISOString(),
  };
}

/** The key was deleted; `revision` is the one the delete removed. */
export function deletedEvent(vault: string, key: string, revision: string, at: Date): ObjectEvent {
  return { type: 'object.deleted', vault, key, revision, time: at.toISOString() };
}

/** A rebuild found a segment of this committed object below its read threshold. */
export function lostEvent(
  entry: { vault: string; key: string; revision: string; size: number; sha256: string },
  at: Date,
): ObjectEvent {
  const { vault, key, revision, size, sha256 } = entry;
  return { type: 'object.lost', vault, key, revision, size, sha256, time: at.toISOString() };
}

/** A rebuild healed a damaged segment of this committed object. */
export function repairedEvent(
  entry: { vault: string; key: string; revision: string; size: number; sha256: string },
  at: Date,
): ObjectEvent {
  const { vault, key, revision, size, sha256 } = entry;
  return { type: 'object.repaired', vault, key, revision, size, sha256, time: at.toISOString() };
}

/** The scanner found `signature` in this committed revision: it is quarantined. */
export function quarantinedEvent(
  entry: { vault: string; key: string; revision: string; size: number; sha256: string },
  signature: string,
  at: Date,
): ObjectEvent {
  const { vault, key, revision, size, sha256 } = entry;
  return {
    type: 'object.quarantined',
    vault,
    key,
    revision,
    size,
    sha256,
    signature,
    time: at.toISOString(),
  };
}
