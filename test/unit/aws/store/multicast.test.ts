import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SNSClient } from '@aws-sdk/client-sns';
import { SnsMulticast } from '../../../../shared/aws/store/multicast.ts';
import type { UnitMessage } from '../../../../shared/store/multicast.ts';

interface Call {
  command: string;
  entries: number;
  bytes: number;
}

/**
 * A real SNS client whose requests never leave it: a middleware at the head of its stack records
 * each call (its command and entries) and answers it, refusing the entries named in `refuse`.
 */
function recordingSns(calls: Call[], refuse: string[] = []): SNSClient {
  const sns = new SNSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  sns.middlewareStack.add(
    (_next, context) => async (args) => {
      const { input } = args;
      const entries =
        'PublishBatchRequestEntries' in input
          ? (input.PublishBatchRequestEntries ?? [])
          : [{ Message: 'Message' in input ? (input.Message ?? '') : '' }];
      calls.push({
        command: context.commandName ?? '',
        entries: entries.length,
        bytes: entries.reduce((n, e) => n + Buffer.byteLength(e.Message ?? ''), 0),
      });
      return {
        response: {},
        output: {
          $metadata: {},
          Failed: refuse.map((Id) => ({
            Id,
            Code: 'InvalidParameter',
            Message: 'no',
            SenderFault: true,
          })),
        },
      };
    },
    { step: 'initialize', priority: 'high', name: 'recordingSns' },
  );
  return sns;
}

const message = (segment: number, padding = 0): UnitMessage => ({
  v: 1,
  vault: 'default',
  address: 'vault/default',
  revision: '00mwzq0jzn82050b176c0d6f34',
  segment,
  slices: [
    {
      pillar: 0,
      unit: 0,
      name: 'n',
      crc32: 'AAAAAA==',
      size: padding,
      ...(padding ? { data: 'A'.repeat(padding) } : {}),
    },
  ],
});

test('segment messages go out ten to a call, each its own message', async () => {
  const calls: Call[] = [];
  const multicast = new SnsMulticast(recordingSns(calls), 'arn:network', 'arn:status');
  await multicast.send(
    'vault/default',
    Array.from({ length: 23 }, (_, i) => message(i)),
  );
  assert.deepEqual(
    calls.map((c) => [c.command, c.entries]),
    [
      ['PublishBatchCommand', 10],
      ['PublishBatchCommand', 10],
      ['PublishBatchCommand', 3],
    ],
  );
});

test("a call never carries more than SNS's 256 KiB, and one message is a plain publish", async () => {
  const calls: Call[] = [];
  const multicast = new SnsMulticast(recordingSns(calls), 'arn:network', 'arn:status');
  // Inline messages of about 100 KiB: two fit in a call, three do not.
  await multicast.send(
    'vault/default',
    Array.from({ length: 5 }, (_, i) => message(i, 100 * 1024)),
  );
  await multicast.send('vault/default', [message(9)]);
  assert.deepEqual(
    calls.map((c) => [c.command, c.entries]),
    [
      ['PublishBatchCommand', 2],
      ['PublishBatchCommand', 2],
      ['PublishBatchCommand', 1],
      ['PublishCommand', 1],
    ],
  );
  assert.ok(calls.every((c) => c.bytes <= 256 * 1024));
});

test('an entry SNS refuses fails the send, so the writer does not count it as sent', async () => {
  const calls: Call[] = [];
  const multicast = new SnsMulticast(recordingSns(calls, ['m1']), 'arn:network', 'arn:status');
  await assert.rejects(
    multicast.send('vault/default', [message(0), message(1)]),
    /SNS refused 1 of 2 messages, first: InvalidParameter/,
  );
});
