/**
 * The one control path (seed 004, "a singular control path"): an operator changes the network
 * only by sending an admin command, `{"command","args"}`. Each command is a handler in
 * `COMMANDS`: its args schema, and a run that turns it into per-unit operations. Every command
 * that passes validation is recorded in the audit log (who, what, when, each operation and its
 * outcome) before it runs, and again when it ends, whether it succeeded or failed.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { describeError } from '../describe-error.ts';
import { CommandNotFoundError, DsnError } from '../errors.ts';
import { type VaultStore, vaultNameSchema } from '../store/index.ts';
import { integer, parseWith, resourceId, strictObject } from '../validate.ts';
import { MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE, type TopologyChange } from './change.ts';
import { type CommandRecord, commandId, type Operation } from './command-record.ts';
import { FREEZE_SETTLE_MS, type Freeze } from './freeze.ts';
import { forceRelease, ROLES } from './lease.ts';
import type { AuditLog, FreezeStore, RoleLeases, TopologyChanges } from './ports.ts';

export interface CommandDeps {
  audit: AuditLog;
  freezes: FreezeStore;
  leases: RoleLeases;
  vaults: VaultStore;
  topology: TopologyChanges;
  clock: Clock;
  /** How long vault.freeze waits for writers' caches (`FREEZE_SETTLE_MS` unless given). */
  freezeSettleMs?: number;
}

/** What a handler is given: the deps, its command's record, and where its operations go. */
interface CommandContext {
  deps: CommandDeps;
  record: CommandRecord;
  /** Appended to as the handler goes, so a failure midway still records what was done. */
  operations: Operation[];
}

interface CommandHandler<S extends z.ZodType> {
  args: S;
  /** @returns the command's result, recorded with it and answered to the caller. */
  run(ctx: CommandContext, args: z.output<S>): Promise<Record<string, unknown>>;
}

const unitNumber = integer(0, 255, 'must be a unit number, an integer 0..255');

/** A handler, with its args schema tied to its run. */
function command<S extends z.ZodType>(handler: CommandHandler<S>): CommandHandler<S> {
  return handler;
}

/** Runs `step` for one unit, recording its outcome; a failure is recorded, not thrown. */
async function onUnit(
  ctx: CommandContext,
  unit: number | null,
  action: string,
  step: () => Promise<boolean>,
): Promise<void> {
  try {
    const changed = await step();
    ctx.operations.push({ unit, action, outcome: changed ? 'done' : 'unchanged' });
  } catch (err) {
    const e = describeError(err);
    ctx.operations.push({ unit, action, outcome: 'failed', detail: `${e.name}: ${e.message}` });
  }
}

/** A topology change, handed to the topology system's proposals. */
async function propose(
  ctx: CommandContext,
  vault: string,
  change: TopologyChange,
): Promise<Record<string, unknown>> {
  await ctx.deps.vaults.get(vault);
  const proposed = await ctx.deps.topology.propose(vault, change, ctx.record.by);
  ctx.operations.push(...proposed.operations);
  return { proposal: proposed.proposal, ...(proposed.job ? { job: proposed.job } : {}) };
}

const vaultArgs = strictObject({ vault: vaultNameSchema }, 'an argument of this command');

/** Every command the control path knows, by name. */
export const COMMANDS = {
  'unit.replace': command({
    args: strictObject(
      { vault: vaultNameSchema, unit: unitNumber, with: unitNumber },
      'an argument of unit.replace',
    ),
    run: (ctx, a) => propose(ctx, a.vault, { kind: 'replace', unit: a.unit, with: a.with }),
  }),
  'unit.drain': command({
    args: strictObject({ vault: vaultNameSchema, unit: unitNumber }, 'an argument of unit.drain'),
    run: (ctx, a) => propose(ctx, a.vault, { kind: 'drain', unit: a.unit }),
  }),
  'vault.restripe': command({
    args: strictObject(
      {
        vault: vaultNameSchema,
        width: integer(1, 32),
        readThreshold: integer(1, 32),
        writeThreshold: integer(1, 32),
        // As a vault's and the topology route's: the same change, by another door.
        segmentSize: integer(MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE).optional(),
      },
      'an argument of vault.restripe',
    ).check((ctx) => {
      const a = ctx.value;
      if (a.readThreshold > a.writeThreshold || a.writeThreshold > a.width)
        ctx.issues.push({
          code: 'custom',
          input: a,
          path: ['writeThreshold'],
          message: `must satisfy readThreshold <= writeThreshold <= width, got ${a.readThreshold} <= ${a.writeThreshold} <= ${a.width}`,
        });
    }),
    run: (ctx, { vault, ...geometry }) => propose(ctx, vault, { kind: 'restripe', ...geometry }),
  }),
  'vault.freeze': command({
    args: strictObject(
      {
        vault: vaultNameSchema,
        reason: z.string().max(500, 'must be at most 500 characters').optional(),
      },
      'an argument of vault.freeze',
    ),
    run: async (ctx, a) => {
      const vault = await ctx.deps.vaults.get(a.vault);
      const freeze: Freeze = {
        vault: a.vault,
        command: ctx.record.id,
        by: ctx.record.by,
        at: ctx.record.at,
        ...(a.reason ? { reason: a.reason } : {}),
      };
      // The vault's mark first: writers check it, so writes stop as soon as it is down.
      await onUnit(ctx, null, 'refuse-writes', () => ctx.deps.freezes.freezeVault(freeze));
      for (const unit of vault.units)
        await onUnit(ctx, unit, 'freeze', () =>
          ctx.deps.freezes.freezeUnit(a.vault, unit, ctx.record.id, ctx.record.at),
        );
      // Writers and units trust a not-frozen answer a while: once this answers, all refuse.
      const settle = ctx.deps.freezeSettleMs ?? FREEZE_SETTLE_MS;
      if (settle > 0) await ctx.deps.clock.sleep(settle);
      return { vault: a.vault, frozen: true };
    },
  }),
  'vault.unfreeze': command({
    args: vaultArgs,
    run: async (ctx, a) => {
      const vault = await ctx.deps.vaults.get(a.vault);
      // Units left marked by an earlier freeze of other units are unmarked too.
      const units = new Set([...vault.units, ...(await ctx.deps.freezes.frozenUnits(a.vault))]);
      for (const unit of [...units].sort((x, y) => x - y))
        await onUnit(ctx, unit, 'unfreeze', () => ctx.deps.freezes.unfreezeUnit(a.vault, unit));
      // The vault's mark last: writes resume once every unit takes slices again.
      await onUnit(ctx, null, 'accept-writes', () => ctx.deps.freezes.unfreezeVault(a.vault));
      return { vault: a.vault, frozen: false };
    },
  }),
  'role.release': command({
    args: strictObject(
      {
        role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
        token: integer(1, Number.MAX_SAFE_INTEGER, 'must be a positive integer').optional(),
      },
      'an argument of role.release',
    ),
    run: async (ctx, a) => {
      const released = await forceRelease(ctx.deps, a.role, a.token);
      ctx.operations.push({
        unit: null,
        action: 'release',
        outcome: released ? 'done' : 'unchanged',
        detail: released
          ? `token ${released.token} held by ${released.holder}`
          : `the role was not held${a.token === undefined ? '' : ` with token ${a.token}`}`,
      });
      return { role: a.role, released: released !== undefined, token: released?.token ?? null };
    },
  }),
} as const;

export type CommandName = keyof typeof COMMANDS;
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

const requestSchema = strictObject(
  {
    command: z.enum(COMMAND_NAMES as [CommandName, ...CommandName[]], {
      error: `must be one of ${COMMAND_NAMES.join(', ')}`,
    }),
    args: z.record(z.string(), z.unknown()).default({}),
  },
  'a field of an admin command',
);

/**
 * The admin command that makes `change` to `vault`: the topology routes run their changes
 * through it, so a change made either way is the same command, with the same audit record.
 */
export function commandOf(
  vault: string,
  change: TopologyChange,
): { command: CommandName; args: Record<string, unknown> } {
  if (change.kind === 'replace')
    return { command: 'unit.replace', args: { vault, unit: change.unit, with: change.with } };
  if (change.kind === 'drain') return { command: 'unit.drain', args: { vault, unit: change.unit } };
  const { kind: _kind, ...geometry } = change;
  return { command: 'vault.restripe', args: { vault, ...geometry } };
}

/**
 * Validates, records and runs an admin command sent by `by` (an access key id).
 * @returns the command's audit record, as it ended.
 * @throws InvalidParameterError (400) naming the field and the rule, before anything is
 *   recorded; or the error the command failed with, after it is recorded as failed.
 */
export async function runCommand(
  deps: CommandDeps,
  by: string,
  body: unknown,
): Promise<CommandRecord> {
  const request = parseWith(requestSchema, body);
  const handler = COMMANDS[request.command] as CommandHandler<z.ZodType>;
  const args = parseWith(handler.args, request.args, { name: 'args', qualified: true }) as Record<
    string,
    unknown
  >;
  const now = deps.clock.now();
  const record: CommandRecord = {
    id: commandId(now, () => randomBytes(6).toString('hex')),
    command: request.command,
    args,
    by,
    at: new Date(now).toISOString(),
    state: 'running',
    operations: [],
  };
  await deps.audit.begin(record);
  const ctx: CommandContext = { deps, record, operations: record.operations };
  try {
    const result = await handler.run(ctx, args);
    const failed = record.operations.some((o) => o.outcome === 'failed');
    Object.assign(record, { state: failed ? 'failed' : 'succeeded', result });
  } catch (err) {
    record.state = 'failed';
    record.error =
      err instanceof DsnError
        ? { code: err.code, message: err.message }
        : { code: 'Internal', message: describeError(err).message };
    record.finishedAt = deps.clock.date().toISOString();
    await deps.audit.finish(record);
    throw err;
  }
  record.finishedAt = deps.clock.date().toISOString();
  await deps.audit.finish(record);
  return record;
}

/** How many commands one page of `GET /admin/commands` holds at most. */
export const MAX_COMMANDS_PAGE = 100;

export const commandsQuerySchema = strictObject(
  {
    limit: z
      .string()
      .regex(/^[1-9][0-9]{0,2}$/, `must be an integer 1..${MAX_COMMANDS_PAGE}`)
      .transform(Number)
      .pipe(integer(1, MAX_COMMANDS_PAGE))
      .optional(),
    cursor: resourceId().optional(),
  },
  'a parameter of the command log',
);

/** A page of the audit log, newest first. */
export async function listCommands(
  deps: Pick<CommandDeps, 'audit'>,
  query: unknown,
): Promise<{ commands: CommandRecord[]; cursor?: string }> {
  const q = parseWith(commandsQuerySchema, query, { name: 'query' });
  return deps.audit.list(q.limit ?? 50, q.cursor);
}

/** One command's audit record. @throws CommandNotFoundError */
export async function getCommand(
  deps: Pick<CommandDeps, 'audit'>,
  id: string,
): Promise<CommandRecord> {
  const valid = parseWith(resourceId(), id, { name: 'id' });
  const record = await deps.audit.get(valid);
  if (!record) throw new CommandNotFoundError(valid);
  return record;
}
