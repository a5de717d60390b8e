import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { LocalIam, roleAccessKey } from '../../../infra/local/iam.ts';
import type { ResolvedService, ServiceFunction } from '../../../infra/local/service.ts';

/** Two functions: `reads` may get objects of bucket `b` only; `lists` may list it too. */
function service(): ResolvedService {
  const role = (statements: object[]) => ({
    Type: 'AWS::IAM::Role',
    Properties: {
      RoleName: { 'Fn::Sub': '${AWS::StackName}-role' },
      Policies: [{ PolicyName: 'p', PolicyDocument: { Statement: statements } }],
    },
  });
  const get = { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' };
  const fn = (key: string, roleId: string) =>
    ({ key, name: key, role: roleId, events: [], environment: {} }) as unknown as ServiceFunction;
  return {
    service: 'svc',
    stage: 'test',
    region: 'us-east-1',
    runtime: 'nodejs24.x',
    functions: [fn('reads', 'ReadsRole'), fn('lists', 'ListsRole')],
    authorizers: [],
    stateMachines: {},
    raw: {},
    resources: {
      ReadsRole: role([get]),
      ListsRole: role([
        get,
        { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b' },
      ]),
    },
  };
}

describe('the IAM layer in front of an S3-like server', () => {
  let server: Server;
  let url: string;
  const lines: string[] = [];
  const iam = new LocalIam({
    enforce: true,
    accountId: '000000000000',
    log: (l) => lines.push(l),
    secretArn: () => undefined,
  });
  const as = (roleId: string) => ({
    authorization: `AWS4-HMAC-SHA256 Credential=${roleAccessKey(roleId)}/20261206/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00`,
  });

  before(async () => {
    server = createServer((req, res) => {
      // The emulator: `there` exists, anything else is 404 NoSuchKey; a PUT stores.
      if (req.method === 'PUT') {
        req.resume();
        req.on('end', () => res.writeHead(200).end());
        return;
      }
      if (req.url === '/b/there') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5 });
        res.end(req.method === 'HEAD' ? undefined : 'hello');
        return;
      }
      if (req.url?.startsWith('/b/gone-')) {
        res.writeHead(404, { 'content-type': 'application/xml' });
        res.end('<Error><Code>NoSuchBucket</Code></Error>');
        return;
      }
      res.statusCode = 404;
      res.setHeader('content-type', 'application/xml');
      res.setHeader('access-control-allow-origin', '*');
      res.end('<Error><Code>NoSuchKey</Code></Error>');
    });
    iam.configure(service(), {
      region: 'us-east-1',
      accountId: '000000000000',
      stackName: 'svc-test',
      lookup: () => undefined,
    });
    iam.install(server, ['s3']);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('what the role allows passes; what it does not is 403 with AWS’s message, logged', async () => {
    const there = await fetch(`${url}/b/there`, { headers: as('ReadsRole') });
    assert.equal(there.status, 200);
    assert.equal(await there.text(), 'hello');
    const put = await fetch(`${url}/b/new`, { method: 'PUT', headers: as('ReadsRole'), body: 'x' });
    assert.equal(put.status, 403);
    assert.match(
      await put.text(),
      /<Code>AccessDenied<\/Code><Message>User: arn:aws:sts::000000000000:assumed-role\/svc-test-role\/local is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::b\/new because no identity-based policy allows the s3:PutObject action/,
    );
    assert.match(
      lines.at(-1) ?? '',
      /IAM denied svc-test-role: s3:PutObject on arn:aws:s3:::b\/new/,
    );
    const other = await fetch(`${url}/c/there`, { headers: as('ReadsRole') });
    assert.equal(other.status, 403, 'another bucket');
    const unsigned = await fetch(`${url}/b/new`, { method: 'PUT', body: 'x' });
    assert.equal(unsigned.status, 200, 'not a role: the account owner');
  });

  test('a missing object is 403 to a role that may not list the bucket, 404 to one that may', async () => {
    const denied = iam.denied;
    const hidden = await fetch(`${url}/b/missing`, { headers: as('ReadsRole') });
    assert.equal(hidden.status, 403);
    assert.match(await hidden.text(), /s3:ListBucket on resource: arn:aws:s3:::b /);
    assert.equal(hidden.headers.get('access-control-allow-origin'), '*', 'CORS headers stay');
    assert.equal(iam.denied, denied + 1);
    const head = await fetch(`${url}/b/missing`, { method: 'HEAD', headers: as('ReadsRole') });
    assert.equal(head.status, 403);
    assert.equal(await head.text(), '');
    const shown = await fetch(`${url}/b/missing`, { headers: as('ListsRole') });
    assert.equal(shown.status, 404);
    assert.match(await shown.text(), /NoSuchKey/);
    const present = await fetch(`${url}/b/there`, { method: 'HEAD', headers: as('ReadsRole') });
    assert.equal(present.status, 200, 'an object that is there is no secret');
    assert.equal(iam.denied, denied + 2);
    const noBucket = await fetch(`${url}/b/gone-k`, { headers: as('ReadsRole') });
    assert.equal(noBucket.status, 404, 'another 404 (NoSuchBucket) goes out as it was');
    assert.match(await noBucket.text(), /NoSuchBucket/);
  });
});
