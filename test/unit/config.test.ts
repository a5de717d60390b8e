import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, clamdAddress, loadConfig } from '../../shared/config.ts';

const env = {
  DSN_STAGE: 'dev',
  DSN_VAULTS_TABLE: 'dsn-dev-vaults',
  DSN_NETWORK_TOPIC_ARN: 'arn:aws:sns:us-east-1:1:network',
  DSN_STATUS_TOPIC_ARN: 'arn:aws:sns:us-east-1:1:status',
  DSN_EVENTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:1:events',
  DSN_UNIT_COUNT: '2',
  DSN_UNIT_BUCKETS: 'b0,b1',
  DSN_REVISIONS_TABLE: 'revisions',
  DSN_OBJECTS_TABLE: 'objects',
  DSN_CONTROL_TABLE: 'control',
  DSN_REPAIR_QUEUE_URL: 'http://q/repair',
  DSN_STAGING_BUCKET: 'staging',
  DSN_DISPERSAL_QUEUE_URL: 'http://q/dispersal',
  DSN_REBUILD_QUEUE_URL: 'http://q/rebuild',
  DSN_TOPOLOGY_QUEUE_URL: 'http://q/topology',
  DSN_UNIT_REGIONS: 'us-east-1,eu-west-1',
  DSN_REBUILD_BYTES_PER_SECOND: '0',
  DSN_PENDING_TIMEOUT_SECONDS: '900',
  DSN_COMMIT_WAIT_SECONDS: '10',
  DSN_DATA_MEMORY_MB: '1024',
  DSN_WORK_TABLE: 'work',
  DSN_WORK_QUEUE_URL: 'http://q/work',
  DSN_WORK_MAX_ATTEMPTS: '3',
  DSN_PARTICIPANTS_TABLE: 'participants',
  DSN_LISTENERS_TABLE: 'listeners',
  DSN_LISTENER_NODE_QUEUE_URLS: 'http://q/n0.fifo,http://q/n1.fifo',
  DSN_READER_URL: 'https://abc.lambda-url.us-east-1.on.aws/',
  DSN_ACCESS_KEYS_TABLE: 'access-keys',
  DSN_ADMIN_TABLE: 'admin',
  DSN_REPLICATION_TABLE: 'replication',
  DSN_REPLICATION_STATUS_QUEUE_URL: 'http://q/replication-status',
  DSN_REPLICATION_WORKER_QUEUE_URLS: 'http://q/w0,http://q/w1',
  DSN_REPLICATION_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:r',
  DSN_REPLICATION_PART_BYTES: '8388608',
  DSN_REPLICATION_DEADLINE_MARGIN_SECONDS: '60',
  DSN_DISPERSER_MARGIN_SECONDS: '60',
  DSN_UPLOAD_FOLLOW_UP_SECONDS: '30',
  DSN_EDGE_UNITS: '1',
  DSN_EDGE_TABLE: 'edge',
  DSN_EDGE_PLAN_QUEUE_URL: 'http://q/edge-plan',
};

test('a complete environment gives the typed configuration', () => {
  assert.deepEqual(loadConfig(env), {
    stage: 'dev',
    vaultsTable: 'dsn-dev-vaults',
    networkTopicArn: 'arn:aws:sns:us-east-1:1:network',
    statusTopicArn: 'arn:aws:sns:us-east-1:1:status',
    eventsTopicArn: 'arn:aws:sns:us-east-1:1:events',
    unitBuckets: ['b0', 'b1'],
    unitRegions: ['us-east-1', 'eu-west-1'],
    edgeUnits: [1],
    edgeTable: 'edge',
    edgePlanQueueUrl: 'http://q/edge-plan',
    revisionsTable: 'revisions',
    objectsTable: 'objects',
    controlTable: 'control',
    repairQueueUrl: 'http://q/repair',
    stagingBucket: 'staging',
    dispersalQueueUrl: 'http://q/dispersal',
    pendingTimeoutMs: 900_000,
    commitWaitMs: 10_000,
    rebuildQueueUrl: 'http://q/rebuild',
    topologyQueueUrl: 'http://q/topology',
    rebuildBytesPerSecond: 0,
    workTable: 'work',
    workQueueUrl: 'http://q/work',
    workMaxAttempts: 3,
    dataMemoryBytes: 1024 * 1024 * 1024,
    participantsTable: 'participants',
    listenersTable: 'listeners',
    listenerNodeQueueUrls: ['http://q/n0.fifo', 'http://q/n1.fifo'],
    readerUrl: 'https://abc.lambda-url.us-east-1.on.aws/',
    accessKeysTable: 'access-keys',
    adminTable: 'admin',
    replicationTable: 'replication',
    replicationStatusQueueUrl: 'http://q/replication-status',
    replicationWorkerQueueUrls: ['http://q/w0', 'http://q/w1'],
    replicationStateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:r',
    replicationPartBytes: 8388608,
    replicationDeadlineMarginMs: 60000,
    disperserMarginMs: 60000,
    uploadFollowUpMs: 30000,
  });
});

test('a missing or malformed variable is an error naming it and the rule', () => {
  const cases: Array<[Record<string, string | undefined>, string, RegExp]> = [
    [{ DSN_VAULTS_TABLE: undefined }, 'DSN_VAULTS_TABLE', /is required/],
    [{ DSN_STAGE: ' ' }, 'DSN_STAGE', /is required/],
    [
      { DSN_NETWORK_TOPIC_ARN: 'network' },
      'DSN_NETWORK_TOPIC_ARN',
      /must be an sns ARN, got "network"/,
    ],
    [{ DSN_UNIT_COUNT: 'two' }, 'DSN_UNIT_COUNT', /positive integer/],
    [{ DSN_UNIT_BUCKETS: 'b0,,b1' }, 'DSN_UNIT_BUCKETS', /with no empty entry/],
    [{ DSN_UNIT_BUCKETS: 'b0' }, 'DSN_UNIT_BUCKETS', /lists 1 buckets but DSN_UNIT_COUNT is 2/],
    [
      { DSN_PENDING_TIMEOUT_SECONDS: '0' },
      'DSN_PENDING_TIMEOUT_SECONDS',
      /positive number of seconds, got "0"/,
    ],
    [
      { DSN_UNIT_REGIONS: 'us-east-1' },
      'DSN_UNIT_REGIONS',
      /lists 1 regions but DSN_UNIT_COUNT is 2/,
    ],
    [{ DSN_UNIT_REGIONS: 'us-east-1,Mars' }, 'DSN_UNIT_REGIONS', /region names, got "Mars"/],
    [
      { DSN_REBUILD_BYTES_PER_SECOND: '-1' },
      'DSN_REBUILD_BYTES_PER_SECOND',
      /integer >= 0, got "-1"/,
    ],
    [
      { DSN_DISPERSER_MARGIN_SECONDS: 'soon' },
      'DSN_DISPERSER_MARGIN_SECONDS',
      /positive number of seconds, got "soon"/,
    ],
    [{ DSN_WORK_MAX_ATTEMPTS: '0' }, 'DSN_WORK_MAX_ATTEMPTS', /from 1 to 100, got "0"/],
    [{ DSN_READER_URL: 'reader' }, 'DSN_READER_URL', /http\(s\) URL, got "reader"/],
    [{ DSN_REPLICATION_PART_BYTES: '10' }, 'DSN_REPLICATION_PART_BYTES', /from 1024/],
    [{ DSN_EDGE_UNITS: '8,x' }, 'DSN_EDGE_UNITS', /unit indices separated by commas, or none/],
  ];
  for (const [override, variable, rule] of cases) {
    assert.throws(
      () => loadConfig({ ...env, ...override }),
      (err: Error) =>
        err instanceof ConfigError && err.variable === variable && rule.test(err.message),
      variable,
    );
  }
});

test('DSN_CLAMD is host:port or a unix socket path; unset means no clamd', () => {
  assert.equal(clamdAddress({}), undefined);
  assert.equal(clamdAddress({ DSN_CLAMD: ' ' }), undefined);
  assert.deepEqual(clamdAddress({ DSN_CLAMD: '127.0.0.1:3310' }), {
    host: '127.0.0.1',
    port: 3310,
  });
  assert.deepEqual(clamdAddress({ DSN_CLAMD: '[::1]:3310' }), { host: '::1', port: 3310 });
  assert.deepEqual(clamdAddress({ DSN_CLAMD: '/run/clamav/clamd.ctl' }), {
    path: '/run/clamav/clamd.ctl',
  });
  for (const bad of ['clamd', 'host:0', 'host:99999', 'relative/sock'])
    assert.throws(
      () => clamdAddress({ DSN_CLAMD: bad }),
      (err: unknown) => err instanceof ConfigError && err.variable === 'DSN_CLAMD',
      bad,
    );
});
