/**
 * Work items: one entry of a vault's work list, as the catalog keeps it (its state, attempts,
 * owner and outcome) and as the API shows it. The item's definition (op, args, sequence,
 * dependencies) is also stored dispersed, as function slices (`function-slice.ts`); the
 * catalog copy is what listings and `GET` read, the slices are what ownership is taken on.
 */

import type { Reader } from '../access/index.ts';

export const WORK_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type WorkState = (typeof WORK_STATES)[number];

/** States a worker may still take an item in (a running one once its owner's lease is gone). */
export const OPEN_STATES: readonly WorkState[] = ['queued', 'running'];

/** What the function slices carry: enough to run the item without the catalog. */
export interface WorkDefinition {
  vault: string;
  seq: number;
  op: string;
  args: Record<string, unknown>;
  after: string[];
  /**
   * Who asked for it, as the scan gate sees a reader: its op reads only the objects that caller
   * could read itself (no unscanned or quarantined bytes for an unprotected key). Absent for
   * items added inside the system (benchmarks, tests), which read as the system.
   */
  reader?: Reader;
}

export interface WorkRecord extends WorkDefinition {
  id: string;
  state: WorkState;
  /** Times a worker took ownership and started the op. */
  attempts: number;
  /** Fencing token of the current (or last) owner; 0 before the first. */
  token: number;
  owner?: string;
  /** Epoch ms when the owner's lease ends. */
  leaseUntil?: number;
  result?: unknown;
  error?: string;
  /**
   * Why the item waits (no worker could take it: units down) or why it was cancelled without
   * running (an item it runs after failed or was cancelled).
   */
  reason?: string;
  /** Epoch ms before which no worker takes the item again (backoff after a failed attempt). */
  notBefore?: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Pool units holding the function slices, pillar i on units[i]. */
  units: number[];
  readThreshold: number;
  writeThreshold: number;
}

const ID = /^w(\d{12})$/;

/** Item ids are the sequence number, so an id names its place in the list. */
export function workId(seq: number): string {
  return `w${String(seq).padStart(12, '0')}`;
}

/** The sequence number an id names, or undefined for a string that is no item id. */
export function seqOfId(id: string): number | undefined {
  const m = ID.exec(id);
  return m ? Number(m[1]) : undefined;
}

/** The item as the API answers it (`GET /vaults/{vault}/work/{id}`). */
export function publicItem(r: WorkRecord) {
  return {
    id: r.id,
    seq: r.seq,
    op: r.op,
    args: r.args,
    after: r.after,
    state: r.state,
    attempts: r.attempts,
    token: r.token,
    ...(r.owner !== undefined && r.state === 'running' ? { owner: r.owner } : {}),
    ...(r.result !== undefined ? { result: r.result } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.reason !== undefined && (r.state === 'queued' || r.state === 'cancelled')
      ? { reason: r.reason }
      : {}),
    ...(r.notBefore !== undefined && r.state === 'queued'
      ? { notBefore: new Date(r.notBefore).toISOString() }
      : {}),
    createdAt: r.createdAt,
    ...(r.startedAt !== undefined ? { startedAt: r.startedAt } : {}),
    ...(r.finishedAt !== undefined ? { finishedAt: r.finishedAt } : {}),
  };
}

export type PublicWorkItem = ReturnType<typeof publicItem>;
