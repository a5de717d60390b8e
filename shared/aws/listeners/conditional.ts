/** Conditional writes on the listeners system's tables. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/** Whether the conditional write took place: false when its condition did not hold. */
export async function conditional(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}
