/**
 * DynamoDB conditional writes, for every adapter: a condition that does not hold is an answer
 * ("no"), not a failure.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/** Whether `err` is DynamoDB refusing a write whose condition did not hold. */
export function conditionFailed(err: unknown): boolean {
  // By name too: an error built by another copy of the SDK is not an instance of this class.
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as Error | undefined)?.name === 'ConditionalCheckFailedException'
  );
}

/** The write's result, or undefined when its condition did not hold. */
export async function ifCondition<T>(write: Promise<T>): Promise<T | undefined> {
  try {
    return await write;
  } catch (err) {
    if (conditionFailed(err)) return undefined;
    throw err;
  }
}

/** Whether the conditional write took place: false when its condition did not hold. */
export async function conditional(write: Promise<unknown>): Promise<boolean> {
  return (await ifCondition(write.then(() => true))) ?? false;
}

/** Whether `err` is DynamoDB refusing a write that would make its item larger than 400 KB. */
export function itemTooLarge(err: unknown): boolean {
  const e = err as Error | undefined;
  return e?.name === 'ValidationException' && /exceeded the maximum allowed size/.test(e.message);
}
