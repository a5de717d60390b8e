/**
 * Access by security information (seed 004): whether a session may read an object's bytes,
 * from the session's `protected` flag, the object's scan state and who wrote it. A pure
 * function of the three, so every kind of session against every state is tested without a
 * cloud; the GET and HEAD object routes call `gateRead` before any byte goes out.
 *
 * | session | clean | pending | skipped | infected |
 * | --- | --- | --- | --- | --- |
 * | admin (admin on every vault) | yes | yes | yes | yes |
 * | protected | yes | yes | yes | Quarantined |
 * | unprotected, its own upload | yes | yes | yes | Quarantined |
 * | unprotected | yes | NotScanned | NotScanned | Quarantined |
 *
 * A protected session (an attested, scanning client) reads `skipped` objects as it reads
 * `pending` ones: both are objects this server has not scanned, and the client scans itself.
 */

import { NotScannedError, QuarantinedError } from '../errors.ts';
import type { ScanState } from '../store/index.ts';
import { isAdmin, type Principal } from './principal.ts';
import { scanStateOf } from './scan-state.ts';

export type ReadDecision = 'allowed' | 'NotScanned' | 'Quarantined';

/**
 * A reader as the gate sees it, all it needs of a principal: plain data, so a read made later
 * on a caller's behalf (a work item's op) is gated as the caller was when it asked.
 */
export interface Reader {
  /** Admin of everything: reads anything. */
  admin: boolean;
  protected: boolean;
  rootKeyId: string;
}

/** What the gate needs of `principal`. */
export function readerOf(principal: Principal): Reader {
  return {
    admin: isAdmin(principal.policy),
    protected: principal.protected,
    rootKeyId: principal.rootKeyId,
  };
}

/** Whether `reader` may read an object in `scanState` written by `writer` (a root key id). */
export function readDecision(
  reader: Principal | Reader,
  object: { scanState?: ScanState; writer?: string },
): ReadDecision {
  const r = 'policy' in reader ? readerOf(reader) : reader;
  if (r.admin) return 'allowed';
  const state = scanStateOf(object);
  if (state === 'infected') return 'Quarantined';
  if (state === 'clean' || r.protected) return 'allowed';
  if (object.writer !== undefined && object.writer === r.rootKeyId) return 'allowed';
  return 'NotScanned';
}

/**
 * Lets the read go on, or refuses it.
 * @throws NotScannedError, QuarantinedError (both 403)
 */
export function gateRead(
  reader: Principal | Reader,
  entry: { vault: string; key: string; scanState?: ScanState; writer?: string },
): void {
  const decision = readDecision(reader, entry);
  if (decision === 'Quarantined') throw new QuarantinedError(entry.vault, entry.key);
  if (decision === 'NotScanned')
    throw new NotScannedError(entry.vault, entry.key, scanStateOf(entry));
}
