/** Batch reads of many keys at once, as both tables of the listeners system do them. */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';

/** BatchGetItem takes at most 100 keys a call. */
const BATCH_KEYS = 100;
/** Rounds of UnprocessedKeys before giving up (the caller's message then comes again). */
const BATCH_ROUNDS = 8;

/**
 * The items of `keys` that exist on `table`, in as few BatchGetItem calls as the 100-key limit
 * allows, UnprocessedKeys asked again. Consistent: a listener created a moment before an event
 * must hear it.
 */
export async function batchGet(
  db: DynamoDBDocumentClient,
  table: string,
  keys: Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += BATCH_KEYS) {
    let left: Record<string, unknown>[] | undefined = keys.slice(i, i + BATCH_KEYS);
    for (let round = 0; left && left.length > 0; round++) {
      if (round === BATCH_ROUNDS)
        throw new Error(`${table}: keys left unread after ${round} rounds`);
      const out: BatchGetCommandOutput = await db.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: left, ConsistentRead: true } } }),
      );
      found.push(...(out.Responses?.[table] ?? []));
      left = out.UnprocessedKeys?.[table]?.Keys;
    }
  }
  return found;
}
