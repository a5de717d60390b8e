import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import {
  parseSchedule,
  ScheduleExpressionError,
  startScheduler,
} from '../../../infra/local/schedule.ts';

test('rate and cron expressions give EventBridge fire times (UTC, Sunday = 1)', () => {
  const from = new Date('2026-11-24T10:07:30Z');
  assert.equal(
    parseSchedule('rate(5 minutes)').next(from).toISOString(),
    '2026-11-24T10:12:30.000Z',
  );
  assert.equal(parseSchedule('rate(1 hour)').next(from).toISOString(), '2026-11-24T11:07:30.000Z');
  assert.equal(
    parseSchedule('cron(0 12 * * ? *)').next(from).toISOString(),
    '2026-11-24T12:00:00.000Z',
  );
  // 2026-11-24 is a Tuesday; day-of-week 1 is Sunday in AWS cron.
  assert.equal(
    parseSchedule('cron(15 8 ? * 1 *)').next(from).toISOString(),
    '2026-11-29T08:15:00.000Z',
  );
  assert.equal(
    parseSchedule('cron(0 9 ? * MON-FRI *)').next(from).toISOString(),
    '2026-11-25T09:00:00.000Z',
  );
});

test('expressions EventBridge refuses are refused with the rule', () => {
  for (const bad of [
    'rate(1 minutes)',
    'rate(5 minute)',
    'rate(0 minutes)',
    'rate(5 weeks)',
    'cron(0 12 * * *)',
    'cron(0 12 1 * MON *)',
    'every 5 minutes',
  ]) {
    assert.throws(() => parseSchedule(bad), ScheduleExpressionError, bad);
  }
});

test('the scheduler fires the function with a Scheduled Event, or with the declared input', () => {
  // Prepare
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: new Date('2026-11-24T10:00:00Z') });
  const calls: Array<[string, unknown]> = [];
  const scheduler = startScheduler({
    region: 'us-east-1',
    accountId: '000000000000',
    targets: [
      {
        functionName: 'plain',
        expression: 'rate(1 minute)',
        input: undefined,
        ruleArn: 'arn:rule/plain',
      },
      {
        functionName: 'custom',
        expression: 'rate(2 minutes)',
        input: { source: 'mine' },
        ruleArn: 'arn:rule/c',
      },
    ],
    invoke: async (name, event) => {
      calls.push([name, event]);
    },
  });
  try {
    // Act
    mock.timers.tick(120_000);

    // Assess
    assert.deepEqual(calls.map(([n]) => n).sort(), ['custom', 'plain', 'plain']);
    const event = calls[0]?.[1] as Record<string, unknown>;
    assert.equal(event['detail-type'], 'Scheduled Event');
    assert.equal(event.source, 'aws.events');
    assert.equal(event.time, '2026-11-24T10:01:00Z');
    assert.deepEqual(event.resources, ['arn:rule/plain']);
    assert.deepEqual(calls.find(([n]) => n === 'custom')?.[1], { source: 'mine' });
    assert.equal(scheduler.nextFires()[0]?.at.toISOString(), '2026-11-24T10:03:00.000Z');
  } finally {
    scheduler.stop();
    mock.timers.reset();
  }
});
