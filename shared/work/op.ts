/**
 * Operations a work item runs, and the registry that names them. Each op is a zod schema for its
 * args (checked when the item is added, so a bad one is a 400, and again when it runs) and a
 * `run` that streams through the vault's objects. Ops live one per file under `ops/`; a test or
 * a deployment registers more with `register`.
 */
import { z } from 'zod';
import { InvalidParameterError } from '../errors.ts';
import { parseWith } from '../validate.ts';

/** What an op may do with the vault's objects: streamed, never a whole object in memory. */
export interface ObjectAccess {
  /** Every live key under `prefix`, in key order, with its size. */
  list(prefix: string): AsyncIterable<{ key: string; size: number }>;
  /** The object's bytes, a segment at a time. @throws ObjectNotFoundError */
  open(key: string): Promise<AsyncIterable<Uint8Array>>;
  /** Writes `body` to `key` through the writer (committed at T); returns the bytes written. */
  write(key: string, body: AsyncIterable<Uint8Array>): Promise<{ size: number }>;
}

export interface OpContext {
  vault: string;
  /** The item's id: ops that need a scratch name derive it from this, so a re-run reuses it. */
  id: string;
  objects: ObjectAccess;
}

export interface WorkOp<A = unknown> {
  args: z.ZodType<A>;
  run(ctx: OpContext, args: A): Promise<unknown>;
}

/** Ops by name. */
export class OpRegistry {
  private readonly ops = new Map<string, WorkOp<unknown>>();

  register<A>(name: string, op: WorkOp<A>): this {
    this.ops.set(name, op as WorkOp<unknown>);
    return this;
  }

  names(): string[] {
    return [...this.ops.keys()];
  }

  /** @throws InvalidParameterError naming `op` when unknown. */
  get(name: string): WorkOp<unknown> {
    const op = this.ops.get(name);
    if (!op)
      throw new InvalidParameterError(
        'op',
        `must be one of ${this.names().join(', ')}, got ${JSON.stringify(name)}`,
      );
    return op;
  }

  /**
   * `args` checked against op `name`'s schema.
   * @throws InvalidParameterError naming the field under `args` (`args.pattern`).
   */
  parseArgs(name: string, args: unknown): unknown {
    return parseWith(this.get(name).args, args, { name: 'args', qualified: true });
  }
}

/** An object key an op reads or writes. */
export const keyArg = z.string({ error: 'must be an object key' }).min(1, 'must be an object key');
/** A key prefix; empty means the whole vault. */
export const prefixArg = z.string({ error: 'must be a key prefix (a string)' });
