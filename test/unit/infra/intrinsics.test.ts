import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IntrinsicError, resolveIntrinsics } from '../../../infra/local/intrinsics.ts';

const ctx = {
  region: 'us-east-1',
  accountId: '000000000000',
  stackName: 'svc-test',
  lookup: (id: string) =>
    id === 'Queue'
      ? { ref: 'http://q', attributes: { Arn: 'arn:aws:sqs:us-east-1:0:q' } }
      : undefined,
};

test('Ref, GetAtt, Sub and Join resolve against provisioned resources and pseudo parameters', () => {
  const out = resolveIntrinsics(
    {
      url: { Ref: 'Queue' },
      arn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
      dotted: { 'Fn::GetAtt': 'Queue.Arn' },
      sub: { 'Fn::Sub': '${AWS::Region}/${Queue.Arn}/${x}' },
      subVars: { 'Fn::Sub': ['${x}-${AWS::AccountId}', { x: { Ref: 'AWS::StackName' } }] },
      join: { 'Fn::Join': [',', [{ Ref: 'Queue' }, 'b']] },
      list: [{ Ref: 'AWS::Region' }],
    },
    { ...ctx, lookup: (id) => (id === 'x' ? { ref: 'X', attributes: {} } : ctx.lookup(id)) },
  );
  assert.deepEqual(out, {
    url: 'http://q',
    arn: 'arn:aws:sqs:us-east-1:0:q',
    dotted: 'arn:aws:sqs:us-east-1:0:q',
    sub: 'us-east-1/arn:aws:sqs:us-east-1:0:q/X',
    subVars: 'svc-test-000000000000',
    join: 'http://q,b',
    list: ['us-east-1'],
  });
});

test('unknown references and unsupported functions name the path where they are', () => {
  assert.throws(
    () => resolveIntrinsics({ a: { b: { Ref: 'Nope' } } }, ctx),
    (e: Error) => e instanceof IntrinsicError && e.path === '$.a.b.Ref',
  );
  assert.throws(
    () => resolveIntrinsics({ a: { 'Fn::GetAtt': ['Queue', 'Nope'] } }, ctx),
    (e: Error) => e instanceof IntrinsicError && /no attribute "Nope"/.test(e.message),
  );
  assert.throws(
    () => resolveIntrinsics({ a: { 'Fn::If': ['c', 1, 2] } }, ctx),
    (e: Error) => e instanceof IntrinsicError && /Fn::If is not supported/.test(e.message),
  );
});
