/**
 * Fencing tokens on DynamoDB writes. Code run in a `AsyncFenceScope` (a role's holder) writes
 * through `fencedDocuments`, which turns each of its writes into a fenced one:
 *
 * - every item it writes remembers the highest token of the role that wrote it
 *   (`fence_<role>`), and the write is conditioned on that token being no higher than its own:
 *   once a later holder has written an item, an earlier holder's write to it is refused;
 * - before each write the role's item is read, and a token that no longer holds the role is
 *   refused outright (covering the items the later holder has not touched yet).
 *
 * DynamoDB transactions would make the second check atomic with the write; dynalite, the local
 * cloud's default engine, has none, so the first check (atomic, per item) is the guarantee and
 * the second narrows the window. A refusal is a RoleLostError: the holder stops.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { RoleLostError } from '../../errors.ts';
import type { Fence, FenceScope, RoleLeases } from '../../topology/index.ts';
import { conditionFailed } from '../conditional.ts';

/** The fence of the code running now, carried across awaits. */
export class AsyncFenceScope implements FenceScope {
  private readonly storage = new AsyncLocalStorage<Fence>();

  run<T>(fence: Fence, fn: () => Promise<T>): Promise<T> {
    return this.storage.run(fence, fn);
  }

  current(): Fence | undefined {
    return this.storage.getStore();
  }
}

/** The attribute that remembers, on each item a role writes, the highest token that wrote it. */
export const fenceAttribute = (role: string) => `fence_${role}`;

const NAME = '#dsnFence';
const VALUE = ':dsnFence';
const CONDITION = `(attribute_not_exists(${NAME}) OR ${NAME} <= ${VALUE})`;

interface WriteInput {
  TableName?: string;
  Key?: Record<string, unknown>;
  Item?: Record<string, unknown>;
  UpdateExpression?: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

/** `input` as its fenced write: the token set on the item and conditioned on (see the file's comment). */
export function withFence(
  input: WriteInput,
  fence: Fence,
  kind: 'put' | 'update' | 'delete',
): WriteInput {
  const out: WriteInput = {
    ...input,
    ConditionExpression: input.ConditionExpression
      ? `(${input.ConditionExpression}) AND ${CONDITION}`
      : CONDITION,
    ExpressionAttributeNames: {
      ...input.ExpressionAttributeNames,
      [NAME]: fenceAttribute(fence.role),
    },
    ExpressionAttributeValues: { ...input.ExpressionAttributeValues, [VALUE]: fence.token },
  };
  if (kind === 'put') out.Item = { ...input.Item, [fenceAttribute(fence.role)]: fence.token };
  if (kind === 'update') {
    const expression = input.UpdateExpression ?? '';
    // Clauses may come in any order; the token joins the SET clause, or starts one.
    // The keyword, not a placeholder that spells it (`#set`, `:set`).
    const clause = /(^|\s)SET\s+/i;
    out.UpdateExpression = clause.test(expression)
      ? expression.replace(clause, `$1SET ${NAME} = ${VALUE}, `)
      : `SET ${NAME} = ${VALUE} ${expression}`;
  }
  return out;
}

type Send = (command: unknown, ...rest: unknown[]) => Promise<unknown>;

/**
 * `docs`, with every write made inside `scope` fenced by the scope's token (see the file's
 * comment). Reads, and writes outside any scope, go through unchanged.
 */
export function fencedDocuments(
  docs: DynamoDBDocumentClient,
  scope: AsyncFenceScope,
  leases: RoleLeases,
): DynamoDBDocumentClient {
  const send = docs.send.bind(docs) as Send;
  const keyNames = new Map<string, Promise<string[]>>();

  /** The item's key: a put names only the item, so its table's key schema says which. */
  async function keyOf(input: WriteInput): Promise<Record<string, unknown> | undefined> {
    if (input.Key) return input.Key;
    if (!input.Item || !input.TableName) return undefined;
    const table = input.TableName;
    let names = keyNames.get(table);
    if (!names) {
      names = (
        send(new DescribeTableCommand({ TableName: table })) as Promise<{
          Table?: { KeySchema?: Array<{ AttributeName?: string }> };
        }>
      ).then(
        (out) => (out.Table?.KeySchema ?? []).map((k) => String(k.AttributeName)),
        // Without DescribeTable (a role not granted it), the caller's own error stands.
        () => [],
      );
      keyNames.set(table, names);
    }
    const item = input.Item;
    const key = await names;
    return key.length > 0 ? Object.fromEntries(key.map((name) => [name, item[name]])) : undefined;
  }

  async function stillHolds(fence: Fence): Promise<void> {
    const lease = await leases.get(fence.role);
    if (lease?.token !== fence.token || lease.holder === undefined)
      throw new RoleLostError(
        fence.role,
        fence.token,
        lease?.holder === undefined ? 'the role was released' : `token ${lease.token} holds it now`,
      );
  }

  async function fenced(command: unknown, rest: unknown[]): Promise<unknown> {
    const fence = scope.current();
    if (fence === undefined) return send(command, ...rest);
    const kind =
      command instanceof PutCommand
        ? 'put'
        : command instanceof UpdateCommand
          ? 'update'
          : command instanceof DeleteCommand
            ? 'delete'
            : command instanceof BatchWriteCommand || command instanceof TransactWriteCommand
              ? 'batch'
              : 'read';
    if (kind === 'read') return send(command, ...rest);
    await stillHolds(fence);
    // Batches cannot be conditioned item by item: the check above is their fence.
    if (kind === 'batch') return send(command, ...rest);
    const input = withFence((command as { input: WriteInput }).input, fence, kind);
    const rebuilt =
      kind === 'put'
        ? new PutCommand(input as ConstructorParameters<typeof PutCommand>[0])
        : kind === 'update'
          ? new UpdateCommand(input as ConstructorParameters<typeof UpdateCommand>[0])
          : new DeleteCommand(input as ConstructorParameters<typeof DeleteCommand>[0]);
    try {
      return await send(rebuilt, ...rest);
    } catch (err) {
      const key = conditionFailed(err) ? await keyOf(input) : undefined;
      if (!key) throw err;
      // Which condition failed: the caller's own (an answer), or the token (a later holder's item)?
      const seen = await send(
        new GetCommand({ TableName: input.TableName, Key: key, ConsistentRead: true }),
      );
      const token = (seen as { Item?: Record<string, unknown> }).Item?.[fenceAttribute(fence.role)];
      if (typeof token === 'number' && token > fence.token)
        throw new RoleLostError(fence.role, fence.token, `token ${token} wrote this item since`);
      throw err;
    }
  }

  return new Proxy(docs, {
    get(target, prop) {
      if (prop === 'send') return (command: unknown, ...rest: unknown[]) => fenced(command, rest);
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
