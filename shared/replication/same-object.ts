/**
 * Whether the destination already holds the source's object: the same size, and the same
 * SHA-256 where both ends know it (vault to vault); otherwise a destination written no earlier
 * than the source was modified, to the second (S3 keeps LastModified in whole seconds), as
 * rclone's default size-and-time check does. This is what makes a second run copy nothing, and
 * a copy whose `done` was lost in a crash not copied again.
 */
import type { ObjectEntry } from './ports.ts';

export function sameObject(source: ObjectEntry, destination: ObjectEntry | undefined): boolean {
  if (!destination || destination.size !== source.size) return false;
  if (source.sha256 && destination.sha256) return source.sha256 === destination.sha256;
  return Math.floor(destination.modifiedAt / 1000) >= Math.floor(source.modifiedAt / 1000);
}
