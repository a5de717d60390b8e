/**
 * The vault's work list as callers see it: add an item (next sequence number, function slices
 * at the vault's units, then the catalog record), list, show, explain and cancel.
 */
import { z } from 'zod';
import type { Reader } from '../access/index.ts';
import type { Clock } from '../clock.ts';
import {
  InvalidParameterError,
  WorkItemNotFoundError,
  WorkItemStateError,
  WriteThresholdNotMetError,
} from '../errors.ts';
import type { VaultStore } from '../store/index.ts';
import { decimalInteger, parseWith, strictObject } from '../validate.ts';
import { encodeDefinition } from './function-slice.ts';
import type { OpRegistry } from './op.ts';
import { ownershipThreshold } from './ownership.ts';
import type { FunctionSliceState, WorkStore } from './ports.ts';
import { seqOfId, WORK_STATES, type WorkRecord, workId } from './work-item.ts';

/** Tells workers that a vault has new items (a queue message on AWS). */
export interface WorkNudge {
  nudge(vault: string): Promise<void>;
}

export interface WorkListDeps {
  store: WorkStore;
  vaults: VaultStore;
  ops: OpRegistry;
  clock: Clock;
  nudge?: WorkNudge;
}

/** An item names at most this many items it runs after. */
export const MAX_AFTER = 100;
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

export const addWorkSchema = strictObject(
  {
    op: z.string({ error: 'must name an op (a string)' }),
    args: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }).default({}),
    after: z
      .array(z.string({ error: 'must be a work item id' }))
      .max(MAX_AFTER)
      .default([]),
  },
  'a work item field',
);

export const listWorkSchema = strictObject(
  {
    state: z.enum(WORK_STATES).optional(),
    limit: decimalInteger(1, MAX_LIST_LIMIT).optional(),
    cursor: decimalInteger(0, 999_999_999_999_999).optional(),
  },
  'a work list parameter',
);

/**
 * Adds an item to the end of `vaultName`'s work list.
 * @throws VaultNotFoundError, InvalidParameterError (unknown op, bad args, unknown `after`)
 */
export async function addWork(
  deps: WorkListDeps,
  vaultName: string,
  body: unknown,
  reader?: Reader,
): Promise<WorkRecord> {
  const vault = await deps.vaults.get(vaultName);
  const request = parseWith(addWorkSchema, body);
  const args = deps.ops.parseArgs(request.op, request.args) as Record<string, unknown>;
  const after = [...new Set(request.after)];
  for (const [i, id] of after.entries()) {
    const seq = seqOfId(id);
    if (seq === undefined || !(await deps.store.get(vault.name, seq)))
      throw new InvalidParameterError(
        `after[${i}]`,
        `names no work item of vault "${vault.name}", got ${JSON.stringify(id)}`,
      );
  }
  const seq = await deps.store.nextSeq(vault.name);
  const definition = {
    vault: vault.name,
    seq,
    op: request.op,
    args,
    after,
    ...(reader ? { reader } : {}),
  };
  const slices = await encodeDefinition(definition, vault);
  // Slices first: a crash before the record leaves slices no listing shows, never a record
  // whose slices are missing.
  const stored = await Promise.allSettled(
    vault.units.map((unit, pillar) =>
      deps.store.putSlice(vault.name, seq, unit, slices[pillar] as Uint8Array, deps.clock.now()),
    ),
  );
  const failedUnits = vault.units.filter((_, i) => stored[i]?.status === 'rejected');
  const threshold = ownershipThreshold(vault.width, vault.writeThreshold);
  if (vault.units.length - failedUnits.length < threshold) {
    // No record will name these slices, and the sweep leaves slices without one alone (their
    // add may be under way): they go now, best effort, or they would stay for good.
    await deps.store
      .dropSlices(
        vault.units
          .filter((_, i) => stored[i]?.status === 'fulfilled')
          .map((unit) => ({ vault: vault.name, seq, unit })),
      )
      .catch(() => undefined);
    throw new WriteThresholdNotMetError(
      workId(seq),
      failedUnits,
      `function slices stored at ${vault.units.length - failedUnits.length} units, ${threshold} needed`,
    );
  }
  const record: WorkRecord = {
    ...definition,
    id: workId(seq),
    state: 'queued',
    attempts: 0,
    token: 0,
    createdAt: deps.clock.date().toISOString(),
    units: vault.units,
    readThreshold: vault.readThreshold,
    writeThreshold: vault.writeThreshold,
  };
  await deps.store.create(record);
  await deps.nudge?.nudge(vault.name);
  return record;
}

/**
 * A page of the work list in `seq` order (`state`, `limit` 1-1000, `cursor` from the last page).
 * @throws VaultNotFoundError, InvalidParameterError
 */
export async function listWork(
  deps: Pick<WorkListDeps, 'store' | 'vaults'>,
  vaultName: string,
  query: unknown,
): Promise<{ items: WorkRecord[]; cursor?: string }> {
  const q = parseWith(listWorkSchema, query ?? {});
  const vault = await deps.vaults.get(vaultName);
  const limit = q.limit ?? DEFAULT_LIST_LIMIT;
  const items: WorkRecord[] = [];
  let afterSeq = q.cursor;
  let cursor: number | undefined;
  do {
    const page = await deps.store.list(vault.name, {
      states: q.state ? [q.state] : undefined,
      afterSeq,
      limit: limit - items.length,
    });
    items.push(...page.items);
    cursor = page.cursor;
    afterSeq = cursor;
  } while (cursor !== undefined && items.length < limit);
  const last = items.at(-1)?.seq;
  return cursor === undefined ? { items } : { items, cursor: String(last ?? cursor) };
}

/** @throws VaultNotFoundError, WorkItemNotFoundError */
export async function getWork(
  deps: Pick<WorkListDeps, 'store' | 'vaults'>,
  vaultName: string,
  id: string,
): Promise<WorkRecord> {
  const vault = await deps.vaults.get(vaultName);
  const seq = seqOfId(id);
  const record = seq === undefined ? undefined : await deps.store.get(vault.name, seq);
  if (!record) throw new WorkItemNotFoundError(vault.name, id);
  return record;
}

/** Per unit: the slice, its lock and lease. */
export async function explainWork(
  deps: Pick<WorkListDeps, 'store' | 'vaults'>,
  vaultName: string,
  id: string,
): Promise<{ id: string; state: string; threshold: number; units: FunctionSliceState[] }> {
  const record = await getWork(deps, vaultName, id);
  const units = await Promise.all(
    record.units.map((unit) =>
      deps.store
        .sliceState(record.vault, record.seq, unit)
        .catch((err): FunctionSliceState & { error: string } => ({
          unit,
          present: false,
          locked: false,
          error: String((err as Error).message),
        })),
    ),
  );
  return {
    id: record.id,
    state: record.state,
    threshold: ownershipThreshold(record.units.length, record.writeThreshold),
    units,
  };
}

/**
 * Cancels a queued item.
 * @throws WorkItemStateError when it is running, done, failed (or already cancelled)
 */
export async function cancelWork(
  deps: Pick<WorkListDeps, 'store' | 'vaults' | 'clock'>,
  vaultName: string,
  id: string,
): Promise<void> {
  const record = await getWork(deps, vaultName, id);
  const cancelled = await deps.store.update(
    record.vault,
    record.seq,
    { state: 'cancelled', finishedAt: deps.clock.date().toISOString() },
    { states: ['queued'] },
  );
  if (!cancelled) {
    const now = await getWork(deps, vaultName, id);
    throw new WorkItemStateError(id, now.state, 'only a queued item can be cancelled');
  }
  // Its slices will never be taken; a unit that fails keeps them for the sweep.
  await deps.store
    .dropSlices(record.units.map((unit) => ({ vault: record.vault, seq: record.seq, unit })))
    .catch(() => undefined);
}
