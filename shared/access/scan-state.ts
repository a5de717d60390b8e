/**
 * Scan states (seed 004's storage-management abstract): every committed revision has one, kept
 * on its object index entry beside the manifest, so a read and a listing learn it with no extra
 * lookup.
 *
 * - `pending`: committed, the scanner has not finished (set when the index entry is published).
 * - `clean`: the scanner found no signature.
 * - `infected`: it found one (`scanDetail` names it); the object is quarantined.
 * - `skipped`: it will not scan it: larger than the scan limit, the scanner refused the
 *   stream (clamd's own size limit), or a segment is unreadable; `scanDetail` says why.
 *   Entries committed before scanning existed count as skipped too. There is always a scanner
 *   (the built-in signatures), so "no scanner configured" never happens.
 */
import type { ScanState } from '../store/index.ts';

export type { ScanState } from '../store/index.ts';

export const SCAN_STATES = [
  'pending',
  'clean',
  'infected',
  'skipped',
] as const satisfies readonly ScanState[];

/** The entry's state; one committed before scanning existed was never scanned: `skipped`. */
export function scanStateOf(entry: { scanState?: ScanState }): ScanState {
  return entry.scanState ?? 'skipped';
}
