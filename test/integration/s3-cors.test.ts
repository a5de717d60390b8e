/**
 * Bucket CORS in the local cloud's S3 (infra/local/s3-cors.ts), which the web console relies on
 * to PUT and GET slices across origins: the `?cors` calls through the AWS SDK, preflights
 * allowed and refused as S3 refuses them, the headers on real answers (errors included, so a
 * page can read S3's code), and rules that outlive a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type FauxqsHandle, startS3SnsSqs } from '../../infra/local/fauxqs.ts';
import { S3Cors } from '../../infra/local/s3-cors.ts';
import { s3Crc32 } from '../../shared/codec/index.ts';
import { LOCAL_CREDENTIALS, tempDir } from '../helpers/local-cloud.ts';

const PAGE = 'http://console.example:3000';
const RULE = {
  ID: 'browser-slices',
  AllowedOrigins: [PAGE, 'https://*.example.org'],
  AllowedMethods: ['GET', 'PUT'],
  AllowedHeaders: ['x-amz-checksum-*'],
  ExposeHeaders: ['ETag'],
  MaxAgeSeconds: 600,
};

describe('bucket CORS in the local S3', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let running: FauxqsHandle;
  let s3: S3Client;
  const start = async () => {
    running = await startS3SnsSqs({
      port: 0,
      dataDir: dir.path,
      region: 'us-east-1',
      portVariable: 'DSN_AWS_PORT',
      onServer: (server, s3) => new S3Cors(dir.path).install(server, s3),
    });
    s3 = new S3Client({
      endpoint: running.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: LOCAL_CREDENTIALS,
    });
  };
  const preflight = (bucket: string, origin: string, method: string, headers = '') =>
    fetch(`${running.url}/${bucket}/some/slice`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': method,
        ...(headers ? { 'access-control-request-headers': headers } : {}),
      },
    });

  before(async () => {
    dir = await tempDir('dsn-s3-cors');
    await start();
    await s3.send(new CreateBucketCommand({ Bucket: 'open' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'closed' }));
    await s3.send(
      new PutBucketCorsCommand({ Bucket: 'open', CORSConfiguration: { CORSRules: [RULE] } }),
    );
  });
  after(async () => {
    s3?.destroy();
    await running?.stop();
    await dir?.remove();
  });

  test('GetBucketCors gives back the rules put; a bucket with none answers NoSuchCORSConfiguration, a missing one NoSuchBucket', async () => {
    const got = await s3.send(new GetBucketCorsCommand({ Bucket: 'open' }));
    assert.deepEqual(got.CORSRules, [RULE]);
    await assert.rejects(s3.send(new GetBucketCorsCommand({ Bucket: 'closed' })), {
      name: 'NoSuchCORSConfiguration',
    });
    await assert.rejects(
      s3.send(
        new PutBucketCorsCommand({ Bucket: 'nowhere', CORSConfiguration: { CORSRules: [RULE] } }),
      ),
      { name: 'NoSuchBucket' },
    );
  });

  test('a preflight its rule allows gets 200 with the origin, methods, headers and max age', async () => {
    const res = await preflight('open', PAGE, 'PUT', 'x-amz-checksum-crc32');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), PAGE);
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET, PUT');
    assert.equal(res.headers.get('access-control-allow-headers'), 'x-amz-checksum-crc32');
    assert.equal(res.headers.get('access-control-max-age'), '600');
    // One wildcard in an origin matches any subdomain.
    const sub = await preflight('open', 'https://eu.example.org', 'GET');
    assert.equal(sub.status, 200);
    assert.equal(sub.headers.get('access-control-allow-origin'), 'https://eu.example.org');
  });

  test('a preflight no rule allows gets 403, naming why, and no CORS headers', async () => {
    for (const [bucket, origin, method, headers, message] of [
      ['open', 'http://elsewhere.example', 'PUT', '', 'This CORS request is not allowed'],
      ['open', PAGE, 'DELETE', '', 'This CORS request is not allowed'],
      ['open', PAGE, 'PUT', 'x-amz-acl', 'This CORS request is not allowed'],
      ['closed', PAGE, 'PUT', '', 'CORS is not enabled for this bucket'],
    ] as const) {
      const res = await preflight(bucket, origin, method, headers);
      assert.equal(res.status, 403, `${bucket} ${origin} ${method} ${headers}`);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      assert.match(await res.text(), new RegExp(`<Code>AccessForbidden</Code>.*${message}`));
    }
  });

  test('real answers carry the headers for an allowed origin, errors included; others carry none', async () => {
    const body = new TextEncoder().encode('a slice, as a page sends it');
    const put = await fetch(`${running.url}/open/k1`, {
      method: 'PUT',
      headers: { origin: PAGE, 'x-amz-checksum-crc32': s3Crc32(body) },
      body,
    });
    assert.equal(put.status, 200);
    assert.equal(put.headers.get('access-control-allow-origin'), PAGE);
    assert.equal(put.headers.get('access-control-expose-headers'), 'ETag');
    const get = await fetch(`${running.url}/open/k1`, { headers: { origin: PAGE } });
    assert.deepEqual(new Uint8Array(await get.arrayBuffer()), body);
    assert.equal(get.headers.get('access-control-allow-origin'), PAGE);
    // Damaged on the way: S3's BadDigest, readable by the page so it sends the slice again.
    const bad = await fetch(`${running.url}/open/k2`, {
      method: 'PUT',
      headers: { origin: PAGE, 'x-amz-checksum-crc32': s3Crc32(new Uint8Array([1])) },
      body,
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('access-control-allow-origin'), PAGE);
    assert.match(await bad.text(), /<Code>BadDigest<\/Code>/);
    const missing = await fetch(`${running.url}/open/none`, { headers: { origin: PAGE } });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('access-control-allow-origin'), PAGE);
    // Another origin, or no origin: the answer is S3's, with no CORS headers.
    for (const headers of [{ origin: 'http://elsewhere.example' }, {}] as Array<
      Record<string, string>
    >) {
      const res = await fetch(`${running.url}/open/k1`, { headers });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      await res.arrayBuffer();
    }
  });

  test('a configuration S3 would refuse is refused with MalformedXML, naming the rule, and the old one stays', async () => {
    await assert.rejects(
      s3.send(
        new PutBucketCorsCommand({
          Bucket: 'open',
          CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['PATCH'] }] },
        }),
      ),
      (err: Error) =>
        err.name === 'MalformedXML' && /unsupported HTTP method.*PATCH/.test(err.message),
    );
    await assert.rejects(
      s3.send(
        new PutBucketCorsCommand({
          Bucket: 'open',
          CORSConfiguration: {
            CORSRules: [{ AllowedOrigins: ['http://*.*.example'], AllowedMethods: ['GET'] }],
          },
        }),
      ),
      (err: Error) => err.name === 'MalformedXML' && /more than one wildcard/.test(err.message),
    );
    assert.deepEqual((await s3.send(new GetBucketCorsCommand({ Bucket: 'open' }))).CORSRules, [
      RULE,
    ]);
  });

  test('rules outlive a restart; DeleteBucketCors removes them', async () => {
    s3.destroy();
    await running.stop();
    await start();
    assert.deepEqual((await s3.send(new GetBucketCorsCommand({ Bucket: 'open' }))).CORSRules, [
      RULE,
    ]);
    assert.equal((await preflight('open', PAGE, 'GET')).status, 200);
    await s3.send(new DeleteBucketCorsCommand({ Bucket: 'open' }));
    await assert.rejects(s3.send(new GetBucketCorsCommand({ Bucket: 'open' })), {
      name: 'NoSuchCORSConfiguration',
    });
    assert.equal((await preflight('open', PAGE, 'GET')).status, 403);
  });
});
