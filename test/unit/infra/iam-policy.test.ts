import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  conditionHolds,
  decide,
  globMatches,
  parsePolicyDocument,
} from '../../../infra/local/iam-policy.ts';
import { ServiceConfigError } from '../../../infra/local/service-config-error.ts';

const ctx = {
  region: 'us-east-1',
  accountId: '000000000000',
  stackName: 'dsn-test',
  lookup: (id: string) =>
    id === 'Table'
      ? {
          ref: 'dsn-test-Table',
          attributes: { Arn: 'arn:aws:dynamodb:us-east-1:000000000000:table/dsn-test-Table' },
        }
      : undefined,
};

const parse = (Statement: unknown[], unresolved: string[] = []) =>
  parsePolicyDocument({ Version: '2012-10-17', Statement }, ctx, 'Role.Policies[0]', (w) =>
    unresolved.push(w),
  );

test('wildcards: * spans any run (slashes too), ? one character, the rest is literal', () => {
  assert.ok(globMatches('arn:aws:s3:::b/*', 'arn:aws:s3:::b/a/b/c'));
  assert.ok(globMatches('arn:aws:s3:::b/*', 'arn:aws:s3:::b/'));
  assert.ok(!globMatches('arn:aws:s3:::b/*', 'arn:aws:s3:::b'));
  assert.ok(globMatches('a?c', 'abc'));
  assert.ok(!globMatches('a?c', 'ac'));
  assert.ok(globMatches('*', ''));
  assert.ok(globMatches('a*b*c', 'a-b-b-c'));
  assert.ok(!globMatches('a*b*c', 'a-b-b-'));
  assert.ok(!globMatches('a.c', 'abc'), 'a dot is no regex');
  assert.ok(globMatches('S3:GetObject', 's3:getobject', true));
  assert.ok(!globMatches('S3:GetObject', 's3:getobject'));
});

test('an Allow matches on action (without case), resource and intrinsics resolved', () => {
  const statements = parse([
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:Query'],
      Resource: { 'Fn::GetAtt': ['Table', 'Arn'] },
    },
    { Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::units-*/*' },
  ]);
  const table = 'arn:aws:dynamodb:us-east-1:000000000000:table/dsn-test-Table';
  assert.deepEqual(decide(statements, { action: 'dynamodb:getitem', resource: table }), {
    allowed: true,
  });
  assert.deepEqual(decide(statements, { action: 'dynamodb:PutItem', resource: table }), {
    allowed: false,
    explicit: false,
  });
  assert.equal(
    decide(statements, { action: 'dynamodb:Query', resource: `${table}/index/due` }).allowed,
    false,
    'an index is a resource of its own',
  );
  assert.equal(
    decide(statements, { action: 's3:PutObject', resource: 'arn:aws:s3:::units-0/k' }).allowed,
    true,
  );
});

test('an explicit Deny wins over any Allow, and names its statement', () => {
  const statements = parse([
    { Effect: 'Allow', Action: 'sns:*', Resource: '*' },
    { Effect: 'Deny', Action: 'sns:Publish', Resource: 'arn:aws:sns:us-east-1:0:secret' },
  ]);
  assert.deepEqual(
    decide(statements, { action: 'sns:Publish', resource: 'arn:aws:sns:us-east-1:0:secret' }),
    { allowed: false, explicit: true, statement: 'Role.Policies[0].Statement[1]' },
  );
  assert.equal(
    decide(statements, { action: 'sns:Publish', resource: 'arn:aws:sns:us-east-1:0:other' })
      .allowed,
    true,
  );
});

test('NotAction and NotResource allow everything but what they list', () => {
  const statements = parse([
    { Effect: 'Allow', NotAction: 's3:DeleteObject', NotResource: 'arn:aws:s3:::keep/*' },
  ]);
  assert.equal(
    decide(statements, { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' }).allowed,
    true,
  );
  assert.equal(
    decide(statements, { action: 's3:DeleteObject', resource: 'arn:aws:s3:::b/k' }).allowed,
    false,
  );
  assert.equal(
    decide(statements, { action: 's3:GetObject', resource: 'arn:aws:s3:::keep/k' }).allowed,
    false,
  );
});

test('dynamodb:LeadingKeys with ForAllValues:StringLike: every key must match; none is vacuous', () => {
  const [statement] = parse([
    {
      Effect: 'Allow',
      Action: 'dynamodb:GetItem',
      Resource: '*',
      Condition: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['upload/*', 'scan-rules'] },
      },
    },
  ]);
  const c = statement?.conditions[0];
  assert.ok(c);
  assert.equal(c.key, 'dynamodb:leadingkeys', 'keys compare without case');
  assert.ok(conditionHolds(c, { 'dynamodb:leadingkeys': ['upload/1', 'scan-rules'] }));
  assert.ok(!conditionHolds(c, { 'dynamodb:leadingkeys': ['upload/1', 'rebuild#1'] }));
  assert.ok(!conditionHolds(c, { 'dynamodb:leadingkeys': ['scan-rules-2'] }));
  assert.ok(conditionHolds(c, {}), 'a request with no leading key satisfies ForAllValues');
  const any = { ...c, set: 'ForAnyValue' as const };
  assert.ok(conditionHolds(any, { 'dynamodb:leadingkeys': ['x', 'upload/1'] }));
  assert.ok(!conditionHolds(any, {}), 'ForAnyValue needs a value');
  assert.ok(conditionHolds({ ...any, ifExists: true }, {}), '...unless IfExists');
});

test('plain, negated, IfExists, ARN, Bool and Null operators', () => {
  const [s] = parse([
    {
      Effect: 'Allow',
      Action: '*',
      Resource: '*',
      Condition: {
        StringEquals: { 'aws:username': 'a' },
        StringNotLike: { 'aws:tag': 'secret-*' },
        ArnLikeIfExists: { 'aws:SourceArn': 'arn:aws:sns:*:*:topic' },
        Bool: { 'aws:SecureTransport': true },
        Null: { 'aws:token': 'true' },
      },
    },
  ]);
  const [eq, notLike, arn, bool, nul] = s?.conditions ?? [];
  assert.ok(eq && notLike && arn && bool && nul);
  assert.ok(conditionHolds(eq, { 'aws:username': ['a'] }));
  assert.ok(!conditionHolds(eq, { 'aws:username': ['A'] }));
  assert.ok(!conditionHolds(eq, {}), 'a missing key fails a plain operator');
  assert.ok(conditionHolds(notLike, { 'aws:tag': ['public'] }));
  assert.ok(conditionHolds(notLike, {}), 'a missing key satisfies a negated operator');
  assert.ok(!conditionHolds(notLike, { 'aws:tag': ['secret-1'] }));
  assert.ok(conditionHolds(arn, {}), 'IfExists holds when the key is absent');
  assert.ok(conditionHolds(arn, { 'aws:sourcearn': ['arn:aws:sns:us-east-1:0:topic'] }));
  assert.ok(!conditionHolds(arn, { 'aws:sourcearn': ['arn:aws:sns:us-east-1:0:other'] }));
  assert.ok(conditionHolds(bool, { 'aws:securetransport': ['true'] }));
  assert.ok(!conditionHolds(bool, { 'aws:securetransport': ['false'] }));
  assert.ok(conditionHolds(nul, {}));
  assert.ok(!conditionHolds(nul, { 'aws:token': ['t'] }));
});

test('a resource naming what the local cloud does not create allows nothing and is reported', () => {
  const unresolved: string[] = [];
  const statements = parse(
    [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': ['Key', 'Arn'] } }],
    unresolved,
  );
  assert.deepEqual(statements[0]?.resources, []);
  assert.deepEqual(unresolved, ['Role.Policies[0].Statement[0].Resource[0]']);
  assert.equal(decide(statements, { action: 'kms:Decrypt', resource: '*' }).allowed, false);
});

test('what it cannot evaluate stops the start, naming the field', () => {
  assert.throws(
    () =>
      parse([
        {
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': 3600 } },
        },
      ]),
    (err: unknown) =>
      err instanceof ServiceConfigError &&
      /Statement\[0\]\.Condition\.NumericLessThan/.test(err.message) &&
      /does not evaluate/.test(err.message),
  );
  assert.throws(
    () => parse([{ Effect: 'Maybe', Action: '*', Resource: '*' }]),
    /Effect: must be Allow or Deny/,
  );
  assert.throws(
    () => parse([{ Effect: 'Allow', Action: '*', NotAction: 'x', Resource: '*' }]),
    /exactly one of Action and NotAction/,
  );
});
