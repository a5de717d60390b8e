import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsRepairLog } from '../../../../shared/aws/repair/repair-log.ts';
import type { SliceDamage } from '../../../../shared/store/index.ts';
import { MemoryLogger } from '../../../helpers/logger.ts';

const damage: SliceDamage = {
  vault: 'default',
  key: 'photos/cat.jpg',
  revision: '00mwzq0jzn82050b176c0d6f34',
  segment: 0,
  pillar: 1,
  unit: 4,
  defect: 'missing',
  detail: 'SliceNotFoundError: unit 4 has no slice',
  at: '2026-11-24T00:00:00.000Z',
};

/**
 * A real SQS client whose requests never leave it: a middleware at the head of its stack hands
 * out `bodies` once on a receive, and records the receipt handles deleted.
 */
function queueOf(bodies: string[], deleted: string[]): SQSClient {
  const sqs = new SQSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  sqs.middlewareStack.add(
    (_next, context) => async (args) => {
      const input = args.input as { Entries?: Array<{ ReceiptHandle?: string }> };
      if (context.commandName === 'ReceiveMessageCommand') {
        const Messages = bodies.map((Body, i) => ({
          Body,
          ReceiptHandle: `h${i}`,
          MessageId: `m${i}`,
        }));
        bodies.length = 0;
        return { response: {}, output: { $metadata: {}, Messages } };
      }
      for (const e of input.Entries ?? []) deleted.push(e.ReceiptHandle ?? '');
      return { response: {}, output: { $metadata: {}, Successful: [], Failed: [] } };
    },
    { step: 'initialize', name: 'answerInMemory' },
  );
  return sqs;
}

test('records are parsed; one that is not a damage record is removed and logged, not taken', async () => {
  // Prepare: a good record between one that is not JSON and one with an odd detail.
  const deleted: string[] = [];
  const logger = new MemoryLogger();
  const bodies = [
    'not json',
    JSON.stringify(damage),
    JSON.stringify({ ...damage, detail: { toString: null } }),
  ];
  const log = new SqsRepairLog(queueOf(bodies, deleted), 'https://queue', logger);

  // Act
  const taken = await log.receive(10);

  // Assess
  assert.deepEqual(taken, [{ damage, handle: 'h1' }]);
  assert.deepEqual(deleted, ['h0', 'h2']);
  assert.deepEqual(
    logger.lines.map((l) => [
      l.level,
      l.fields.messageId,
      (l.fields.error as { message: string }).message,
    ]),
    [
      ['warn', 'm0', 'damage: is not JSON, got "not json"'],
      ['warn', 'm2', 'damage.detail: must be a string, got {"toString":null}'],
    ],
  );
});
