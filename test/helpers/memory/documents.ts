/**
 * What the memory adapters share with the services they stand in for: documents stored the way
 * DynamoDB's document client stores them, keys ordered the way DynamoDB and S3 order them, and
 * the errors the AWS adapters let through.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/**
 * A deep copy of `value` as the document client (with `removeUndefinedValues`, as `awsClients`
 * configures it) stores it: undefined fields left out, nothing shared with the caller.
 */
export function document<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** DynamoDB sort keys and S3 keys compare as UTF-8 bytes, not as UTF-16 code units. */
export function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** What a DynamoDB conditional write the adapter does not catch throws. */
export function conditionFailed(what: string): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: `The conditional request failed (${what})`,
    $metadata: {},
  });
}

/** A request DynamoDB refuses before running it (an empty `IN ()`, a `Limit` of 0). */
export class ValidationException extends Error {
  override name = 'ValidationException';
}

/**
 * The document client refuses an empty set (it has no `convertEmptyValues`): an adapter that
 * ADDs an empty list as a set fails before its request is sent.
 */
export function nonEmptySet<T>(values: T[]): Set<T> {
  if (values.length === 0)
    throw new Error('Pass a non-empty set, or options.convertEmptyValues=true.');
  return new Set(values);
}
