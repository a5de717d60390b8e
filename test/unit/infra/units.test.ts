import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../helpers/paths.ts';

const require = createRequire(import.meta.url);
const unitConfig = require('../../../infra/resources/unit-config.cjs') as {
  readConfig(dsn: unknown): {
    unitCount: number;
    units: Array<{ bucket?: string; region?: string }>;
  };
  checkEnvironmentBudget(
    config: ReturnType<typeof unitConfig.readConfig>,
    stackName: string,
  ): number;
};
const units = require('../../../infra/resources/units.cjs') as {
  unitResources(
    config: ReturnType<typeof unitConfig.readConfig>,
  ): Record<string, { Type: string; Properties: Record<string, unknown> }>;
  unitEnvironment(config: ReturnType<typeof unitConfig.readConfig>): Record<string, unknown>;
  unitBucketArns(config: ReturnType<typeof unitConfig.readConfig>): unknown[];
  unitObjectArns(config: ReturnType<typeof unitConfig.readConfig>): unknown[];
  unitFunctions(
    config: ReturnType<typeof unitConfig.readConfig>,
    reservedConcurrency?: number,
  ): Record<
    string,
    {
      timeout: number;
      role: string;
      reservedConcurrency: number | string;
      events: Array<{ sqs: { maximumConcurrency: number | string } }>;
    }
  >;
};

test('the pool is generated per unit: bucket, policies, queue, dead-letter queue and filtered subscription', () => {
  // Act
  const resources = units.unitResources(unitConfig.readConfig({ unitCount: 8 }));

  // Assess
  const types = Object.values(resources).map((r) => r.Type);
  assert.equal(types.filter((t) => t === 'AWS::S3::Bucket').length, 8);
  assert.equal(types.filter((t) => t === 'AWS::SQS::Queue').length, 16);
  assert.equal(types.filter((t) => t === 'AWS::SNS::Subscription').length, 8);
  const sub = (i: number) => resources[`Unit${i}Subscription`]?.Properties;
  for (let i = 0; i < 8; i++) assert.deepEqual(sub(i)?.FilterPolicy, { 'dsn-to': [`unit/${i}`] });
  assert.equal(sub(3)?.RawMessageDelivery, true);
  const queue = resources.Unit2Queue?.Properties as {
    VisibilityTimeout: number;
    RedrivePolicy: { maxReceiveCount: number };
  };
  assert.equal(queue.RedrivePolicy.maxReceiveCount, 5);
  assert.deepEqual(
    Object.keys(resources)
      .filter((id) => id.startsWith('Unit7'))
      .sort(),
    [
      'Unit7Bucket',
      'Unit7BucketPolicy',
      'Unit7DeadLetterQueue',
      'Unit7Queue',
      'Unit7QueuePolicy',
      'Unit7Subscription',
    ],
  );
  assert.equal(resources.Unit8Queue, undefined);
});

test('each unit function has its own role and a queue visibility timeout six times its timeout', async () => {
  // Prepare
  const config = unitConfig.readConfig({ unitCount: 4 });
  const yml = await readFile(join(PROJECT_ROOT, 'serverless.yml'), 'utf8');

  // Act
  const functions = units.unitFunctions(config);
  const resources = units.unitResources(config);

  // Assess: the stage's parameter, by default six times the function's timeout.
  assert.deepEqual(Object.keys(functions), ['unit0', 'unit1', 'unit2', 'unit3']);
  assert.equal(new Set(Object.values(functions).map((f) => f.role)).size, 4);
  const queue = resources.Unit3Queue?.Properties as { VisibilityTimeout: unknown } | undefined;
  assert.equal(queue?.VisibilityTimeout, '${param:unitQueueVisibilitySeconds}');
  const byDefault = /^ {4}unitQueueVisibilitySeconds: (\d+)$/m.exec(yml)?.[1];
  assert.equal(Number(byDefault), 6 * (functions.unit3?.timeout ?? Number.NaN));
});

test('each unit function reserves its executions, and its queue is polled by no more than those', () => {
  // Prepare
  const config = unitConfig.readConfig({ unitCount: 2 });

  // Act
  const byDefault = units.unitFunctions(config);
  const fixed = units.unitFunctions(config, 5);

  // Assess
  for (const fn of Object.values(byDefault)) {
    assert.equal(fn.reservedConcurrency, '${param:unitReservedConcurrency}');
    assert.equal(fn.events[0]?.sqs.maximumConcurrency, '${param:unitReservedConcurrency}');
  }
  assert.equal(fixed.unit1?.reservedConcurrency, 5);
  assert.equal(fixed.unit1?.events[0]?.sqs.maximumConcurrency, 5);
});

test('a unit may name an existing bucket in another region: no bucket is created, and IAM and env point at it', () => {
  // Prepare
  const config = unitConfig.readConfig({
    unitCount: 3,
    units: [null, { bucket: 'far-unit-1', region: 'eu-west-1' }],
  });

  // Act
  const resources = units.unitResources(config);
  const env = units.unitEnvironment(config) as Record<string, { 'Fn::Join': [string, unknown[]] }>;

  // Assess
  assert.ok(resources.Unit0Bucket);
  assert.equal(resources.Unit1Bucket, undefined);
  assert.ok(resources.Unit1Queue);
  assert.ok(resources.Unit1Subscription);
  assert.deepEqual(env.DSN_UNIT_BUCKETS?.['Fn::Join'][1], [
    { Ref: 'Unit0Bucket' },
    'far-unit-1',
    { Ref: 'Unit2Bucket' },
  ]);
  assert.deepEqual(env.DSN_UNIT_REGIONS?.['Fn::Join'][1], [
    { Ref: 'AWS::Region' },
    'eu-west-1',
    { Ref: 'AWS::Region' },
  ]);
  const farArn = { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::far-unit-1' };
  assert.deepEqual(units.unitBucketArns(config)[1], farArn);
  assert.deepEqual(units.unitObjectArns(config)[1], { 'Fn::Join': ['', [farArn, '/*']] });
});

test('a bucket an operator names gets the same TLS-only bucket policy as the buckets the stack creates', () => {
  // Prepare
  const config = unitConfig.readConfig({
    unitCount: 2,
    units: [null, { bucket: 'far-unit-1', region: 'eu-west-1' }],
  });

  // Act
  const resources = units.unitResources(config);

  // Assess
  const farArn = { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::far-unit-1' };
  const far = resources.Unit1BucketPolicy?.Properties;
  assert.equal(resources.Unit1BucketPolicy?.Type, 'AWS::S3::BucketPolicy');
  assert.equal(far?.Bucket, 'far-unit-1');
  assert.deepEqual(resources.Unit0BucketPolicy?.Properties.Bucket, { Ref: 'Unit0Bucket' });
  assert.deepEqual(far?.PolicyDocument, {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [farArn, { 'Fn::Join': ['', [farArn, '/*']] }],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  });
});

test('a pool whose unit lists would not fit in a Lambda environment is refused', () => {
  // Prepare
  const small = unitConfig.readConfig({ unitCount: 8 });
  const large = unitConfig.readConfig({ unitCount: 40 });

  // Act, Assess
  assert.ok(unitConfig.checkEnvironmentBudget(small, 'dsn-prod') < 1024);
  assert.throws(
    () => unitConfig.checkEnvironmentBudget(large, 'dsn-prod'),
    /custom\.dsn\.unitCount: 40 units need up to \d+ bytes of Lambda environment/,
  );
});

test('bad pool settings are refused with the field and the rule', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ unitCount: 0 }, /custom\.dsn\.unitCount: must be an integer from 1 to 256, got 0/],
    [{ unitCount: 'eight' }, /custom\.dsn\.unitCount/],
    [
      { unitCount: 2, units: [{}, {}, {}] },
      /custom\.dsn\.units: must be a list of at most unitCount \(2\)/,
    ],
    [
      { unitCount: 2, units: [{ bucket: 'Bad_Bucket' }] },
      /custom\.dsn\.units\[0\]\.bucket: must be an S3 bucket name/,
    ],
    [
      { unitCount: 2, units: [{ bucket: 'good-one', region: 42 }] },
      /custom\.dsn\.units\[0\]\.region: must be an AWS region name, got 42/,
    ],
    [
      { unitCount: 2, units: [{ region: 'eu-west-1' }] },
      /custom\.dsn\.units\[0\]\.region: needs bucket/,
    ],
    [
      { unitCount: 2, units: [{ colour: 'red' }] },
      /custom\.dsn\.units\[0\]\.colour: is not a unit field/,
    ],
    [
      { unitCount: 2, units: [null, { edge: 'yes' }] },
      /custom\.dsn\.units\[1\]\.edge: must be true or false/,
    ],
    [
      { unitCount: 1, units: [{ edge: true }] },
      /custom\.dsn\.units: must leave at least one unit that is not an edge unit/,
    ],
  ];
  for (const [dsn, rule] of cases)
    assert.throws(() => unitConfig.readConfig(dsn), rule, JSON.stringify(dsn));
});

test('units marked edge: true are listed in DSN_EDGE_UNITS, and none is written "none"', () => {
  const config = unitConfig.readConfig({
    unitCount: 4,
    units: [null, null, { edge: true }, { edge: true, bucket: 'near-readers' }],
  });
  assert.equal(units.unitEnvironment(config).DSN_EDGE_UNITS, '2,3');
  assert.equal(
    units.unitEnvironment(unitConfig.readConfig({ unitCount: 2 })).DSN_EDGE_UNITS,
    'none',
  );
});

test('stack-created unit buckets let browserOrigins PUT and GET slices by CORS; [] sets no rule; a bad origin is named', () => {
  const cors = (dsn: Record<string, unknown>) =>
    units.unitResources(unitConfig.readConfig({ unitCount: 2, ...dsn })).Unit0Bucket?.Properties
      .CorsConfiguration as { CorsRules: Array<Record<string, unknown>> } | undefined;
  assert.deepEqual(cors({})?.CorsRules, [
    {
      Id: 'browser-slices',
      AllowedOrigins: ['*'],
      AllowedMethods: ['GET', 'PUT'],
      AllowedHeaders: ['x-amz-checksum-crc32', 'if-none-match'],
      ExposedHeaders: ['ETag'],
      MaxAge: 3600,
    },
  ]);
  assert.deepEqual(
    cors({ browserOrigins: ['https://console.example.com'] })?.CorsRules[0]?.AllowedOrigins,
    ['https://console.example.com'],
  );
  assert.equal(cors({ browserOrigins: [] }), undefined);
  for (const bad of [
    'console.example.com',
    'https://*.*.example.com',
    'https://a.example/path',
    7,
  ]) {
    assert.throws(() => unitConfig.readConfig({ browserOrigins: [bad] }), {
      message: /^custom\.dsn\.browserOrigins: must be a list of origins/,
    });
  }
  assert.throws(() => unitConfig.readConfig({ browserOrigins: '*' }), {
    message: /browserOrigins/,
  });
});
