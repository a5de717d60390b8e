import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  authorizationsOf,
  credentialOf,
  needsBody,
  type RequestFacts,
  type RequestLine,
} from '../../../infra/local/iam-requests.ts';

const facts: RequestFacts = {
  region: 'us-east-1',
  accountId: '000000000000',
  partitionKey: (table, index) =>
    table === 'Control' ? (index === 'open' ? 'vault' : 'id') : undefined,
  secretArn: (id) =>
    id === 'dsn/replication/a'
      ? 'arn:aws:secretsmanager:us-east-1:000000000000:secret:dsn/replication/a-AbCdEf'
      : undefined,
};

const line = (method: string, url: string, headers: RequestLine['headers'] = {}): RequestLine => ({
  method,
  url,
  headers,
});
const json = (target: string) => line('POST', '/', { 'x-amz-target': target });
const asked = (service: Parameters<typeof authorizationsOf>[0], req: RequestLine, body?: unknown) =>
  authorizationsOf(
    service,
    req,
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    facts,
  );

test('the caller is the access key of the credential scope, in the header or a presigned query', () => {
  assert.deepEqual(
    credentialOf(
      line('GET', '/b/k', {
        authorization:
          'AWS4-HMAC-SHA256 Credential=local-role.ApiRole/20261206/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab',
      }),
    ),
    { accessKeyId: 'local-role.ApiRole', service: 's3' },
  );
  assert.deepEqual(
    credentialOf(
      line(
        'PUT',
        '/b/k?X-Amz-Credential=local-role.ApiRole%2F20261206%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=ab',
      ),
    ),
    { accessKeyId: 'local-role.ApiRole', service: 's3' },
  );
  assert.equal(credentialOf(line('GET', '/b/k')), undefined, 'unsigned');
});

test('S3 object calls: reads, writes, multipart steps, copies and deletes', () => {
  const arn = 'arn:aws:s3:::units-0/slices/a b';
  const one = (method: string, url: string, headers?: RequestLine['headers']) =>
    asked('s3', line(method, url, headers)).map((a) => `${a.action} ${a.resource}`);
  assert.deepEqual(one('GET', '/units-0/slices/a%20b'), [`s3:GetObject ${arn}`]);
  assert.deepEqual(one('HEAD', '/units-0/slices/a%20b'), [`s3:GetObject ${arn}`]);
  assert.deepEqual(one('PUT', '/units-0/slices/a%20b'), [`s3:PutObject ${arn}`]);
  assert.deepEqual(one('POST', '/units-0/slices/a%20b?uploads'), [`s3:PutObject ${arn}`]);
  assert.deepEqual(one('PUT', '/units-0/slices/a%20b?partNumber=2&uploadId=u'), [
    `s3:PutObject ${arn}`,
  ]);
  assert.deepEqual(one('POST', '/units-0/slices/a%20b?uploadId=u'), [`s3:PutObject ${arn}`]);
  assert.deepEqual(one('GET', '/units-0/slices/a%20b?uploadId=u'), [
    `s3:ListMultipartUploadParts ${arn}`,
  ]);
  assert.deepEqual(one('DELETE', '/units-0/slices/a%20b?uploadId=u'), [
    `s3:AbortMultipartUpload ${arn}`,
  ]);
  assert.deepEqual(one('DELETE', '/units-0/slices/a%20b'), [`s3:DeleteObject ${arn}`]);
  assert.deepEqual(one('GET', '/units-0/slices/a%20b?versionId=3'), [`s3:GetObjectVersion ${arn}`]);
  assert.deepEqual(
    one('PUT', '/units-1/copy?partNumber=1&uploadId=u', { 'x-amz-copy-source': '/src/a%2Fb%20c' }),
    ['s3:PutObject arn:aws:s3:::units-1/copy', 's3:GetObject arn:aws:s3:::src/a/b c'],
    'a copy reads its source',
  );
});

test('S3 bucket calls: listing, uploads, sub-resources, and DeleteObjects per key', () => {
  const one = (method: string, url: string, body?: string) =>
    asked('s3', line(method, url), body).map((a) => `${a.action} ${a.resource}`);
  assert.deepEqual(one('GET', '/units-0?list-type=2&prefix=a'), [
    's3:ListBucket arn:aws:s3:::units-0',
  ]);
  assert.deepEqual(one('HEAD', '/units-0'), ['s3:ListBucket arn:aws:s3:::units-0']);
  assert.deepEqual(one('GET', '/units-0?uploads'), [
    's3:ListBucketMultipartUploads arn:aws:s3:::units-0',
  ]);
  assert.deepEqual(one('PUT', '/units-0?cors'), ['s3:PutBucketCORS arn:aws:s3:::units-0']);
  assert.deepEqual(one('GET', '/'), ['s3:ListAllMyBuckets *']);
  assert.ok(needsBody('s3', line('POST', '/units-0?delete')));
  assert.ok(!needsBody('s3', line('PUT', '/units-0/k')), 'a PUT streams on unread');
  assert.deepEqual(
    one(
      'POST',
      '/units-0?delete',
      '<Delete><Object><Key>a&amp;b</Key></Object><Object><Key>c&lt;d</Key></Object></Delete>',
    ),
    ['s3:DeleteObject arn:aws:s3:::units-0/a&b', 's3:DeleteObject arn:aws:s3:::units-0/c<d'],
  );
});

test('DynamoDB: the table or index, and dynamodb:LeadingKeys from keys, items and key conditions', () => {
  const table = 'arn:aws:dynamodb:us-east-1:000000000000:table/Control';
  assert.deepEqual(
    asked('dynamodb', json('DynamoDB_20120810.GetItem'), {
      TableName: 'Control',
      Key: { id: { S: 'upload/1' } },
    }),
    [
      {
        action: 'dynamodb:GetItem',
        resource: table,
        context: { 'dynamodb:leadingkeys': ['upload/1'] },
      },
    ],
  );
  assert.deepEqual(
    asked('dynamodb', json('DynamoDB_20120810.Query'), {
      TableName: 'Control',
      IndexName: 'open',
      KeyConditionExpression: ':v = #v AND begins_with(#s, :p)',
      ExpressionAttributeNames: { '#v': 'vault', '#s': 'sk' },
      ExpressionAttributeValues: { ':v': { S: 'photos' }, ':p': { S: 'x' } },
    }),
    [
      {
        action: 'dynamodb:Query',
        resource: `${table}/index/open`,
        context: { 'dynamodb:leadingkeys': ['photos'] },
      },
    ],
  );
  assert.deepEqual(
    asked('dynamodb', json('DynamoDB_20120810.TransactWriteItems'), {
      TransactItems: [
        { Put: { TableName: 'Control', Item: { id: { S: 'a' } } } },
        { ConditionCheck: { TableName: 'Other', Key: { k: { S: 'b' } } } },
      ],
    }).map((a) => [a.action, a.resource, a.context?.['dynamodb:leadingkeys']]),
    [
      ['dynamodb:PutItem', table, ['a']],
      ['dynamodb:ConditionCheckItem', 'arn:aws:dynamodb:us-east-1:000000000000:table/Other', []],
    ],
    'a transaction asks per item',
  );
  assert.deepEqual(
    asked('dynamodb', json('DynamoDB_20120810.BatchWriteItem'), {
      RequestItems: {
        Control: [
          { DeleteRequest: { Key: { id: { S: 'x' } } } },
          { PutRequest: { Item: { id: { S: 'y' } } } },
        ],
      },
    }),
    [
      {
        action: 'dynamodb:BatchWriteItem',
        resource: table,
        context: { 'dynamodb:leadingkeys': ['x', 'y'] },
      },
    ],
  );
  assert.deepEqual(
    asked('dynamodb', json('DynamoDB_20120810.DescribeTable'), { TableName: 'Control' }),
    [{ action: 'dynamodb:DescribeTable', resource: table }],
  );
  assert.deepEqual(asked('dynamodb', json('DynamoDB_20120810.ListTables'), {}), [
    { action: 'dynamodb:ListTables', resource: '*' },
  ]);
});

test('SQS batches ask for their plain action; SNS on the topic, a subscription on its topic', () => {
  const queue = 'http://127.0.0.1:4566/000000000000/dsn-test-unit-0';
  assert.deepEqual(asked('sqs', json('AmazonSQS.DeleteMessageBatch'), { QueueUrl: queue }), [
    { action: 'sqs:DeleteMessage', resource: 'arn:aws:sqs:us-east-1:000000000000:dsn-test-unit-0' },
  ]);
  assert.deepEqual(asked('sqs', json('AmazonSQS.GetQueueUrl'), { QueueName: 'w' }), [
    { action: 'sqs:GetQueueUrl', resource: 'arn:aws:sqs:us-east-1:000000000000:w' },
  ]);
  const form = line('POST', '/', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.deepEqual(
    asked('sns', form, 'Action=PublishBatch&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A0%3Anet'),
    [{ action: 'sns:Publish', resource: 'arn:aws:sns:us-east-1:0:net' }],
  );
  assert.deepEqual(
    asked(
      'sns',
      form,
      'Action=Unsubscribe&SubscriptionArn=arn%3Aaws%3Asns%3Aus-east-1%3A0%3Anet%3Aabc-1',
    ),
    [{ action: 'sns:Unsubscribe', resource: 'arn:aws:sns:us-east-1:0:net' }],
  );
});

test('Step Functions, Lambda and Secrets Manager name their ARNs', () => {
  const execution = 'arn:aws:states:us-east-1:0:execution:dsn-test-replication:job-1';
  assert.deepEqual(
    asked('states', json('AWSStepFunctions.RedriveExecution'), { executionArn: execution }),
    [{ action: 'states:RedriveExecution', resource: execution }],
  );
  assert.deepEqual(
    asked('lambda', line('POST', '/2015-03-31/functions/dsn-test-api/invocations')),
    [
      {
        action: 'lambda:InvokeFunction',
        resource: 'arn:aws:lambda:us-east-1:000000000000:function:dsn-test-api',
      },
    ],
  );
  assert.deepEqual(
    asked('secretsmanager', json('secretsmanager.GetSecretValue'), {
      SecretId: 'dsn/replication/a',
    }),
    [
      {
        action: 'secretsmanager:GetSecretValue',
        resource: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:dsn/replication/a-AbCdEf',
      },
    ],
  );
  assert.deepEqual(
    asked('secretsmanager', json('secretsmanager.GetSecretValue'), { SecretId: 'missing' }),
    [
      {
        action: 'secretsmanager:GetSecretValue',
        resource: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:missing',
      },
    ],
  );
});
