/**
 * The local cloud's Secrets Manager (infra/local/secrets-manager.ts), through the AWS SDK's own
 * client: what the project and a user's CLI call, AWS's error types, and secrets kept across a
 * restart of the local cloud.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager } from '../../../infra/local/secrets-manager.ts';

/** A server answering Secrets Manager from `dataDir`, and everything else with 418. */
async function serve(dataDir: string) {
  const server: Server = createServer((_req, res) => {
    res.writeHead(418);
    res.end();
  });
  new LocalSecretsManager({ dataDir, region: 'us-east-1', accountId: '000000000000' }).install(
    server,
  );
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  const client = new SecretsManagerClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    client,
    port,
    close: async () => {
      client.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

test('secrets are created, read by name or ARN, changed, listed and deleted, and kept across a restart', async () => {
  // Prepare
  const dir = await mkdtemp(join(tmpdir(), 'dsn-secrets-'));
  const first = await serve(dir);
  try {
    // Act
    const created = await first.client.send(
      new CreateSecretCommand({ Name: 'dsn/replication/far', SecretString: '{"v":1}' }),
    );
    const put = await first.client.send(
      new PutSecretValueCommand({ SecretId: created.ARN, SecretString: '{"v":2}' }),
    );
    await first.close();
    const second = await serve(dir);
    try {
      const byName = await second.client.send(
        new GetSecretValueCommand({ SecretId: 'dsn/replication/far' }),
      );
      const byArn = await second.client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
      const listed = await second.client.send(new ListSecretsCommand({}));
      const described = await second.client.send(
        new DescribeSecretCommand({ SecretId: 'dsn/replication/far' }),
      );
      await second.client.send(new DeleteSecretCommand({ SecretId: 'dsn/replication/far' }));

      // Assess
      assert.match(
        created.ARN ?? '',
        /^arn:aws:secretsmanager:us-east-1:000000000000:secret:dsn\/replication\/far-\w{6}$/,
      );
      assert.equal(byName.SecretString, '{"v":2}');
      assert.equal(byArn.VersionId, put.VersionId);
      assert.deepEqual(byName.VersionStages, ['AWSCURRENT']);
      assert.deepEqual(
        listed.SecretList?.map((s) => s.Name),
        ['dsn/replication/far'],
      );
      assert.ok(described.CreatedDate instanceof Date);
      await assert.rejects(
        second.client.send(new GetSecretValueCommand({ SecretId: 'dsn/replication/far' })),
        { name: 'ResourceNotFoundException' },
      );
      assert.equal(
        ((await stat(join(dir, 'secretsmanager.json'))).mode & 0o777).toString(8),
        '600',
      );
    } finally {
      await second.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('AWS error types: a name taken, a missing secret, a binary secret, an operation not emulated; other requests pass through', async () => {
  // Prepare
  const dir = await mkdtemp(join(tmpdir(), 'dsn-secrets-'));
  const sm = await serve(dir);
  try {
    await sm.client.send(new CreateSecretCommand({ Name: 'taken', SecretString: 'x' }));

    // Act & Assess
    await assert.rejects(
      sm.client.send(new CreateSecretCommand({ Name: 'taken', SecretString: 'y' })),
      { name: 'ResourceExistsException' },
    );
    await assert.rejects(sm.client.send(new GetSecretValueCommand({ SecretId: 'nope' })), {
      name: 'ResourceNotFoundException',
    });
    await assert.rejects(
      sm.client.send(
        new CreateSecretCommand({ Name: 'binary', SecretBinary: new Uint8Array([1, 2]) }),
      ),
      (err: Error) => err.name === 'InvalidRequestException' && /SecretBinary/.test(err.message),
    );
    const rotate = await fetch(`http://127.0.0.1:${sm.port}/`, {
      method: 'POST',
      headers: {
        'x-amz-target': 'secretsmanager.RotateSecret',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: '{"SecretId":"taken"}',
    });
    assert.equal(rotate.status, 400);
    assert.match(await rotate.text(), /RotateSecret is not emulated/);
    assert.equal((await fetch(`http://127.0.0.1:${sm.port}/bucket/key`)).status, 418);
  } finally {
    await sm.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a damaged secrets file stops the start with its path, and is left as it is', async () => {
  // Prepare
  const dir = await mkdtemp(join(tmpdir(), 'dsn-secrets-'));
  const file = join(dir, 'secretsmanager.json');
  await writeFile(file, '{"half": ');
  try {
    // Act & Assess
    assert.throws(
      () =>
        new LocalSecretsManager({ dataDir: dir, region: 'us-east-1', accountId: '000000000000' }),
      (err: Error) => err.message.startsWith(`${file} is not the local cloud's list of secrets`),
    );
    assert.equal((await stat(file)).size, 9);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
