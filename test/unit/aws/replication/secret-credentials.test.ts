/** Credentials from a named secret (shared/aws/replication/secret-credentials.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  REREAD_MS,
  SecretCredentialsError,
  secretCredentials,
} from '../../../../shared/aws/replication/secret-credentials.ts';

/** A Secrets Manager client answering GetSecretValue from `answer`, counting its calls. */
function fakeClient(answer: (id: string) => string | Error) {
  const calls: string[] = [];
  const client = {
    send: async (command: { input: { SecretId: string } }) => {
      calls.push(command.input.SecretId);
      const a = answer(command.input.SecretId);
      if (a instanceof Error) throw a;
      return { SecretString: a };
    },
  } as unknown as SecretsManagerClient;
  return { client: () => client, calls };
}

const named = (name: string, message = name) => Object.assign(new Error(message), { name });

test('a secret is read once, used until REREAD_MS has passed, then read again (a rotated key is picked up)', async () => {
  // Prepare
  let now = 1_000_000;
  let key = 'AKIDFIRST';
  const { client, calls } = fakeClient(() =>
    JSON.stringify({ accessKeyId: key, secretAccessKey: 'shh' }),
  );
  const provider = secretCredentials(client, () => now)('dsn/replication/far');

  // Act
  const first = await Promise.all([provider(), provider()]);
  key = 'AKIDSECOND';
  now += REREAD_MS - 1;
  const held = await provider();
  now += 2;
  const reread = await provider();

  // Assess
  assert.deepEqual(
    [...first, held, reread].map((c) => c.accessKeyId),
    ['AKIDFIRST', 'AKIDFIRST', 'AKIDFIRST', 'AKIDSECOND'],
  );
  assert.equal(calls.length, 2);
  assert.ok(reread.expiration.getTime() > now + 5 * 60_000, 'past the SDK refresh window');
});

test('a secret that is missing or does not hold credentials is a SecretCredentialsError that never shows its value', async () => {
  // Prepare
  const { client } = fakeClient((id) =>
    id.endsWith('missing')
      ? named('ResourceNotFoundException', "Secrets Manager can't find the specified secret.")
      : 'hunter2-not-json',
  );
  const of = secretCredentials(client);

  // Act & Assess
  await assert.rejects(
    of('dsn/replication/missing')(),
    (err: Error) =>
      err instanceof SecretCredentialsError &&
      /dsn\/replication\/missing could not be read: ResourceNotFoundException/.test(err.message),
  );
  await assert.rejects(
    of('dsn/replication/garbled')(),
    (err: Error) =>
      err instanceof SecretCredentialsError &&
      /must hold a JSON SecretString/.test(err.message) &&
      !err.message.includes('hunter2'),
  );
});

test('an error a retry may mend goes up as it is, and is not remembered', async () => {
  // Prepare
  let throttled = true;
  const { client, calls } = fakeClient(() =>
    throttled
      ? named('ThrottlingException')
      : JSON.stringify({ accessKeyId: 'AKID', secretAccessKey: 's', sessionToken: 't' }),
  );
  const provider = secretCredentials(client)('dsn/replication/far');

  // Act
  await assert.rejects(provider(), { name: 'ThrottlingException' });
  throttled = false;
  const creds = await provider();

  // Assess
  assert.equal(creds.sessionToken, 't');
  assert.equal(calls.length, 2);
});
