/**
 * One DynamoDB BatchWriteItem of at most 25 requests, sent again for what DynamoDB left
 * unprocessed (it does under throttling), with the exponential backoff AWS asks for.
 */
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';

/** DynamoDB's limit of requests in one BatchWriteItem. */
export const BATCH_WRITE_LIMIT = 25;

/** The first wait before resending unprocessed requests; doubled each time, up to a second. */
const UNPROCESSED_BACKOFF_MS = 20;

type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

export async function batchWriteAll(
  db: Pick<DynamoDBDocumentClient, 'send'>,
  table: string,
  requests: WriteRequests,
): Promise<void> {
  let left = requests;
  for (let backoff = UNPROCESSED_BACKOFF_MS; left.length > 0; backoff *= 2) {
    const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: left } }));
    left = out.UnprocessedItems?.[table] ?? [];
    if (left.length > 0) await new Promise((r) => setTimeout(r, Math.min(backoff, 1000)));
  }
}
