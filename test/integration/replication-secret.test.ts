/**
 * An outside endpoint's credentials from a named Secrets Manager secret (issue: "credentials for
 * an outside endpoint come from the function's environment or a named secret, never from the
 * request body"). The secret lives in the local cloud's Secrets Manager, which the real AWS CLI
 * also reaches (when installed); the outside endpoint is a loopback proxy in front of the local
 * S3 that refuses every request not signed with the secret's access key, as another provider
 * would.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import {
  type CloudClients,
  cloudClients,
  LOCAL_CREDENTIALS,
  PROJECT_ROOT,
  putInParts,
  startTestCloud,
  tempDir,
} from '../helpers/local-cloud.ts';
import { jobEnded, startJob } from '../helpers/replication-api.ts';
import { hasCommand } from '../helpers/tools.ts';

const MiB = 1024 * 1024;
const SECRET = 'dsn/replication/outside';
const OUTSIDE_KEY = {
  accessKeyId: 'OUTSIDEKEY0000000001',
  secretAccessKey: randomBytes(20).toString('hex'),
};

const hasAwsCli = () => hasCommand('aws');

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * A loopback S3 endpoint that forwards to `target` only the requests signed with `accessKeyId`
 * (SigV4's `Credential=<id>/...`); others get 403 AccessDenied. Counts each key id it saw.
 */
async function outsideEndpoint(target: string, accessKeyId: string) {
  const seen = new Map<string, number>();
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const id = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '-';
    seen.set(id, (seen.get(id) ?? 0) + 1);
    if (id !== accessKeyId) {
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
      );
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', (err) => res.destroy(err));
    req.pipe(forward);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

describe('replication to an outside endpoint with credentials from a named secret', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let clients: CloudClients;
  let s3: S3Client;
  let outside: Awaited<ReturnType<typeof outsideEndpoint>>;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const start = (body: unknown) => startJob(api, body);
  const finished = (id: string) => jobEnded(api, id, 120_000);
  const objects = new Map<string, Buffer>([
    ['a.bin', randomBytes(1000)],
    ['b.bin', randomBytes(70_000)],
    // Above the test stage's 5 MiB part: copied in parts, each signed with the secret's key.
    ['large.bin', randomBytes(5 * MiB + 11)],
  ]);

  before(async () => {
    dir = await tempDir('dsn-replication-secret');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path);
    clients = cloudClients(cloud);
    s3 = clients.s3;
    for (const bucket of ['home-in', 'far-out', 'far-denied'])
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const [key, body] of objects)
      if (body.length > 5 * MiB) await putInParts(s3, 'home-in', key, body);
      else await s3.send(new PutObjectCommand({ Bucket: 'home-in', Key: key, Body: body }));
    outside = await outsideEndpoint(cloud.endpoints.s3, OUTSIDE_KEY.accessKeyId);
  });

  after(async () => {
    await outside?.close();
    clients?.destroy();
    await cloud?.stop();
    await dir?.remove();
  });

  test('the AWS CLI creates a secret on the local cloud and reads it back by its ARN', {
    skip: hasAwsCli() ? false : 'the AWS CLI is not installed',
  }, async () => {
    // Act: v1 reads no AWS_ENDPOINT_URL_*, so --endpoint-url.
    const aws = (...args: string[]) =>
      promisify(execFile)(
        'aws',
        [...args, '--endpoint-url', cloud.endpoints.s3, '--region', cloud.service.region],
        { env: { ...process.env, ...cloud.env } },
      );
    const value = JSON.stringify({ accessKeyId: 'CLIKEY', secretAccessKey: 'cli-secret' });
    const created = JSON.parse(
      (
        await aws(
          'secretsmanager',
          'create-secret',
          '--name',
          'dsn/replication/cli-made',
          '--secret-string',
          value,
        )
      ).stdout,
    ) as { ARN: string; Name: string };
    const read = JSON.parse(
      (await aws('secretsmanager', 'get-secret-value', '--secret-id', created.ARN)).stdout,
    ) as { SecretString: string; Name: string };

    // Assess
    assert.equal(created.Name, 'dsn/replication/cli-made');
    assert.match(
      created.ARN,
      /^arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:dsn\/replication\/cli-made-\w{6}$/,
    );
    assert.equal(read.Name, 'dsn/replication/cli-made');
    assert.equal(read.SecretString, value);
  });

  test('a named secret signs every request to the outside endpoint; without it the endpoint refuses the job', async () => {
    // Prepare: the secret, through Secrets Manager's API on the local cloud.
    const secrets = new SecretsManagerClient({
      endpoint: cloud.endpoints.s3,
      region: cloud.service.region,
      credentials: LOCAL_CREDENTIALS,
    });
    await secrets.send(
      new CreateSecretCommand({ Name: SECRET, SecretString: JSON.stringify(OUTSIDE_KEY) }),
    );
    secrets.destroy();

    // Act: the same copy, with the secret and without it.
    const source = { bucket: 'home-in' };
    const withSecret = await finished(
      (
        await start({
          source,
          destination: { bucket: 'far-out', endpoint: outside.url, secret: SECRET },
        })
      ).id,
    );
    const seenWith = new Map(outside.seen);
    outside.seen.clear();
    const without = await finished(
      (await start({ source, destination: { bucket: 'far-denied', endpoint: outside.url } })).id,
    );

    // Assess: every object arrived byte-exact, and only the secret's key reached the endpoint.
    assert.equal(withSecret.state, 'succeeded', JSON.stringify(withSecret));
    for (const [key, body] of objects) {
      const out = await s3.send(new GetObjectCommand({ Bucket: 'far-out', Key: key }));
      const got = await (
        out.Body as { transformToByteArray(): Promise<Uint8Array> }
      ).transformToByteArray();
      assert.equal(sha(got), sha(body), key);
    }
    assert.deepEqual([...seenWith.keys()], [OUTSIDE_KEY.accessKeyId]);
    assert.ok(
      (seenWith.get(OUTSIDE_KEY.accessKeyId) ?? 0) >= objects.size + 2,
      'a list, heads, puts and parts',
    );
    // The function's own key was refused, and the job says it failed rather than hanging.
    assert.equal(without.state, 'failed', JSON.stringify(without));
    assert.match(without.error ?? '', /^AccessDenied: /);
    // The function's own key: its role's (the local IAM's), not the secret's.
    assert.ok(outside.seen.size > 0);
    for (const key of outside.seen.keys())
      assert.match(key, /^local-role\.Replication(Controller|Worker\d+)Role$/);
  });

  test('a secret outside dsn/replication/ is refused with a 400 naming the field and the rule', async () => {
    // Act
    const res = await api('/replications', {
      method: 'POST',
      body: JSON.stringify({
        source: { bucket: 'home-in' },
        destination: { bucket: 'far-out', endpoint: outside.url, secret: 'prod/db-password' },
      }),
    });

    // Assess
    const text = await res.text();
    assert.equal(res.status, 400, text);
    assert.match(text, /destination\.secret/);
    assert.match(text, /under dsn\/replication\//);
  });

  test('a job naming a secret that does not exist fails, and says which secret', async () => {
    // Act
    const job = await finished(
      (
        await start({
          source: { bucket: 'home-in' },
          destination: {
            bucket: 'far-out',
            endpoint: outside.url,
            secret: 'dsn/replication/missing',
          },
        })
      ).id,
    );

    // Assess
    assert.equal(job.state, 'failed', JSON.stringify(job));
    assert.match(
      job.error ?? '',
      /^SecretCredentialsError: the secret dsn\/replication\/missing could not be read: ResourceNotFoundException/,
    );
  });
});
