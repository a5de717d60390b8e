/**
 * Access control on the auth-enforcing local cloud, through the authorizer serverless.yml
 * declares: who may call (401s), what their policy allows (403s), every route of the API,
 * presigned links, sessions, key management, and the CLI with no flags.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROUTE_ACTIONS } from '../../functions/routes/access.ts';
import { type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import { type Credentials, presignUrl } from '../../shared/access/signer.ts';
import { watchQueueName } from '../../shared/listeners/index.ts';
import { runDsn } from '../helpers/dsn-cli.ts';
import {
  EPHEMERAL_PORTS,
  eventually,
  fetchAs,
  PROJECT_ROOT,
  signedHeaders,
  startTestCloud,
  TEST_ROOT,
  tempDir,
  unsignedFetch,
} from '../helpers/local-cloud.ts';

const REGION = 'us-east-1';

interface IssuedKey extends Credentials {
  policy: unknown;
  protected: boolean;
}

interface ErrorBody {
  error: { code: string; message: string };
}

describe('access control on the local cloud', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  let api: string;

  const call = (path: string, init?: RequestInit) => fetch(`${api}${path}`, init);
  const createKey = async (body: unknown): Promise<IssuedKey> => {
    const res = await call('/admin/keys', { method: 'POST', body: JSON.stringify(body) });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as IssuedKey;
  };
  const errorOf = async (res: Response, status: number): Promise<ErrorBody['error']> => {
    const text = await res.text();
    assert.equal(res.status, status, text);
    return (JSON.parse(text) as ErrorBody).error;
  };

  before(async () => {
    dir = await tempDir('dsn-access');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path);
    api = cloud.endpoints.api;
    const put = await call('/vaults/default/objects/pub/hello.txt', {
      method: 'PUT',
      body: 'hello',
    });
    assert.equal(put.status, 201, await put.text());
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('the local cloud keeps its root key in credentials.json and enforces auth', async () => {
    assert.equal(cloud.auth, true);
    assert.equal(cloud.credentials.file, join(dir.path, 'credentials.json'));
    assert.equal(cloud.credentials.accessKeyId, TEST_ROOT.accessKeyId);
  });

  test('unsigned, badly signed, skewed, expired-presigned, unknown-key and disabled-key requests get 401', async () => {
    // Prepare
    const url = `${api}/vaults/default/objects/pub/hello.txt`;
    const wrongSecret = fetchAs({ ...TEST_ROOT, secretAccessKey: 'x'.repeat(40) });
    const unknown = fetchAs({
      accessKeyId: 'DSNKUNKNOWNUNKNOWN00',
      secretAccessKey: 'y'.repeat(40),
    });
    const skewedHeaders = await signedHeaders(url, 'GET', TEST_ROOT);
    const skewed = await import('../../shared/access/signer.ts').then((m) =>
      m.signatureHeaders(
        new URL(url),
        'GET',
        TEST_ROOT,
        REGION,
        new Date(Date.now() - 20 * 60_000),
      ),
    );
    const expired = await presignUrl(
      new URL(url),
      'GET',
      TEST_ROOT,
      REGION,
      60,
      new Date(Date.now() - 5 * 60_000),
    );
    const disabled = await createKey({ policy: [{ vaults: ['*'], actions: ['read'] }] });
    const off = await call(`/admin/keys/${disabled.accessKeyId}`, { method: 'DELETE' });
    assert.equal(off.status, 200, await off.text());
    // A signature for another path, replayed here.
    const otherPath = await signedHeaders(`${api}/vaults/default/objects/pub/other.txt`);

    // Act
    const answers = {
      unsigned: await unsignedFetch(url),
      wrongSecret: await wrongSecret(url),
      replayed: await unsignedFetch(url, { headers: otherPath }),
      skewed: await unsignedFetch(url, { headers: skewed }),
      expired: await unsignedFetch(expired),
      unknown: await unknown(url),
      disabled: await fetchAs(disabled)(url),
    };

    // Assess
    const codes = Object.fromEntries(
      await Promise.all(
        Object.entries(answers).map(async ([k, res]) => [k, (await errorOf(res, 401)).code]),
      ),
    );
    assert.deepEqual(codes, {
      unsigned: 'MissingAuthentication',
      wrongSecret: 'InvalidSignature',
      replayed: 'InvalidSignature',
      skewed: 'RequestTimeTooSkewed',
      expired: 'RequestExpired',
      unknown: 'InvalidAccessKeyId',
      disabled: 'InvalidAccessKeyId',
    });
    // The same headers, unskewed, pass: the refusal above was the clock's.
    assert.equal((await unsignedFetch(url, { headers: skewedHeaders })).status, 200);
  });

  test('policy violations get 403 by vault, prefix and action, saying nothing of what exists', async () => {
    // Prepare
    const key = await createKey({
      policy: [{ vaults: ['default'], prefix: 'pub/', actions: ['read', 'list'] }],
    });
    const as = fetchAs(key);

    // Act
    const allowed = await as(`${api}/vaults/default/objects/pub/hello.txt`);
    const listed = await as(`${api}/vaults/default/objects?prefix=pub/`);
    const otherPrefix = await as(`${api}/vaults/default/objects/secret/hello.txt`);
    const listAll = await as(`${api}/vaults/default/objects`);
    const write = await as(`${api}/vaults/default/objects/pub/new.txt`, {
      method: 'PUT',
      body: 'x',
    });
    const existing = await as(`${api}/vaults/other/objects/pub/hello.txt`);
    const missing = await as(`${api}/vaults/nope/objects/pub/hello.txt`);
    const vaults = (await (await as(`${api}/vaults`)).json()) as { vaults: unknown[] };
    const admin = await as(`${api}/admin/keys`);

    // Assess
    assert.equal(allowed.status, 200);
    assert.equal(await allowed.text(), 'hello');
    assert.equal(listed.status, 200, await listed.text());
    assert.equal((await errorOf(otherPrefix, 403)).code, 'AccessDenied');
    assert.equal((await errorOf(listAll, 403)).code, 'AccessDenied');
    assert.match((await errorOf(write, 403)).message, /does not allow write/);
    const a = await errorOf(existing, 403);
    const b = await errorOf(missing, 403);
    assert.equal(a.message.replace('other', 'nope'), b.message);
    assert.doesNotMatch(b.message, /exist/);
    assert.deepEqual(
      vaults.vaults.map((v) => (v as { name: string }).name),
      ['default'],
    );
    assert.equal((await errorOf(admin, 403)).code, 'AccessDenied');
  });

  test('every route of serverless.yml runs the authorizer and checks the policy', async () => {
    // Prepare: the api function's routes, as the local cloud read them.
    const apiFunction = cloud.service.functions.find((f) => f.key === 'api');
    const routes = (apiFunction?.events ?? []).flatMap((e) =>
      e.type === 'httpApi' ? [{ key: `${e.method} ${e.path}`, authorizer: e.authorizer }] : [],
    );
    const stranger = await createKey({ policy: [{ vaults: ['elsewhere'], actions: ['read'] }] });
    const forAnySigner = new Set([
      'GET /health',
      'GET /openapi.json',
      'POST /sessions',
      'GET /vaults',
    ]);
    const pathOf = (route: string) =>
      (route.split(' ')[1] as string)
        .replace('{vault}', 'v')
        .replace('{key+}', 'k/x.txt')
        .replace(/\{[a-z]+\}/g, '1');

    // Assess: the table of needs covers exactly the declared routes, no more, no less.
    const consoleRoutes = (cloud.service.functions.find((f) => f.key === 'console')?.events ?? [])
      .flatMap((e) => (e.type === 'httpApi' ? [`${e.method} ${e.path}`] : []))
      .sort();
    assert.deepEqual(
      [...routes.map((r) => r.key), ...consoleRoutes].sort(),
      Object.keys(ROUTE_ACTIONS).sort(),
    );
    // The console's files are public, and the only routes that are: served to anyone, unsigned.
    assert.deepEqual(consoleRoutes, ['GET /console', 'GET /console/{path+}']);
    for (const path of ['/console', '/console/index.html']) {
      const page = await unsignedFetch(`${api}${path}`);
      assert.equal(page.status, 200, `${path} unsigned: ${await page.clone().text()}`);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    }
    for (const route of routes) {
      assert.equal(route.authorizer, 'signature', `${route.key} names the authorizer`);
      const method = route.key.split(' ')[0] as string;
      const url = `${api}${pathOf(route.key)}`;
      const body =
        route.key === 'POST /sessions'
          ? '{}'
          : method === 'POST' || method === 'PUT'
            ? '{"name":"v","key":"k"}'
            : undefined;
      const unsigned = await unsignedFetch(url, { method, body });
      assert.equal(unsigned.status, 401, `${route.key} unsigned: ${await unsigned.text()}`);
      const signed = await fetchAs(stranger)(url, { method, body });
      const text = await signed.text();
      if (forAnySigner.has(route.key)) assert.ok(signed.status < 300, `${route.key}: ${text}`);
      else assert.equal(signed.status, 403, `${route.key} by a key for another vault: ${text}`);
    }
  });

  test('a presigned GET link works without credentials until it expires', async () => {
    // Prepare
    const url = new URL(`${api}/vaults/default/objects/pub/hello.txt`);
    const link = await presignUrl(url, 'GET', TEST_ROOT, REGION, 5);
    const forPut = await presignUrl(url, 'PUT', TEST_ROOT, REGION, 60);

    // Act
    const now = await unsignedFetch(link);
    const asPut = await unsignedFetch(forPut);
    const later = await eventually(async () => {
      const res = await unsignedFetch(link);
      return res.status === 200 ? undefined : res;
    }, 'the link to expire');

    // Assess
    assert.equal(now.status, 200);
    assert.equal(await now.text(), 'hello');
    // Signed for PUT, sent as GET: the method is part of what is signed.
    assert.equal((await errorOf(asPut, 401)).code, 'InvalidSignature');
    assert.equal((await errorOf(later, 401)).code, 'RequestExpired');
  });

  test('sessions carry the key policy and protected flag, sign with their token, and expire', async () => {
    // Prepare
    const key = await createKey({
      policy: [{ vaults: ['default'], actions: ['read', 'list'] }],
      protected: true,
    });
    const res = await fetchAs(key)(`${api}/sessions`, {
      method: 'POST',
      body: JSON.stringify({ durationSeconds: 5 }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const session = (await res.json()) as Credentials & { expiration: string; protected: boolean };
    const url = `${api}/vaults/default/objects/pub/hello.txt`;

    // Act
    const read = await fetchAs(session)(url);
    const write = await fetchAs(session)(url, { method: 'PUT', body: 'x' });
    const wrongToken = await fetchAs({ ...session, sessionToken: 'nope' })(url);
    const noToken = await fetchAs({ ...session, sessionToken: undefined })(url);
    const nested = await fetchAs(session)(`${api}/sessions`, { method: 'POST' });
    const expired = await eventually(async () => {
      const r = await fetchAs(session)(url);
      return r.status === 200 ? undefined : r;
    }, 'the session to expire');

    // Assess
    assert.equal(session.protected, true);
    assert.match(session.accessKeyId, /^DSNS/);
    assert.ok(Date.parse(session.expiration) > Date.now() - 60_000);
    assert.equal(read.status, 200);
    assert.equal((await errorOf(write, 403)).code, 'AccessDenied');
    assert.equal((await errorOf(wrongToken, 401)).code, 'InvalidSignature');
    assert.equal((await errorOf(noToken, 401)).code, 'InvalidSignature');
    assert.equal((await errorOf(nested, 403)).code, 'AccessDenied');
    assert.equal((await errorOf(expired, 401)).code, 'ExpiredToken');
  });

  test('a session stops with its key; a rotated key is replaced by one with the same policy', async () => {
    // Prepare
    const key = await createKey({ policy: [{ vaults: ['default'], actions: ['read'] }] });
    const session = (await (
      await fetchAs(key)(`${api}/sessions`, { method: 'POST' })
    ).json()) as Credentials;
    const url = `${api}/vaults/default/objects/pub/hello.txt`;
    assert.equal((await fetchAs(session)(url)).status, 200);

    // Act
    const rotated = await call(`/admin/keys/${key.accessKeyId}/rotate`, { method: 'POST' });
    const replacement = (await rotated.json()) as IssuedKey;
    const listed = (await (await call('/admin/keys')).json()) as {
      keys: Array<{ accessKeyId: string; state: string }>;
    };

    // Assess
    assert.equal(rotated.status, 201);
    assert.deepEqual(replacement.policy, key.policy);
    assert.equal((await errorOf(await fetchAs(key)(url), 401)).code, 'InvalidAccessKeyId');
    assert.equal((await errorOf(await fetchAs(session)(url), 401)).code, 'InvalidAccessKeyId');
    assert.equal((await fetchAs(replacement)(url)).status, 200);
    const states = new Map(listed.keys.map((k) => [k.accessKeyId, k.state]));
    assert.equal(states.get(key.accessKeyId), 'disabled');
    assert.equal(states.get(replacement.accessKeyId), 'active');
    assert.ok(!listed.keys.some((k) => k.accessKeyId.startsWith('DSNS')), 'no sessions listed');
    const root = await call(`/admin/keys/${TEST_ROOT.accessKeyId}`, { method: 'DELETE' });
    assert.equal((await errorOf(root, 400)).code, 'InvalidParameter');
  });

  test("open staged uploads count against the signing key's quota, not its address: another key from the same address opens its own", async () => {
    // Prepare: the root key opens its 100 (all from 127.0.0.1, as the other key's).
    const open = (as: typeof fetch, n: number) =>
      as(`${api}/vaults/default/uploads`, {
        method: 'POST',
        body: JSON.stringify({ key: `quota/${n}.bin` }),
      });
    const opened: string[] = [];
    for (let n = 0; n < 100; n++) {
      const res = await open(fetch, n);
      assert.equal(res.status, 201, await res.clone().text());
      opened.push(((await res.json()) as { uploadId: string }).uploadId);
    }
    const other = fetchAs(
      await createKey({ policy: [{ vaults: ['default'], actions: ['write', 'read'] }] }),
    );
    try {
      // Act
      const over = await open(fetch, 100);
      const theirs = await open(other, 0);

      // Assess
      const refused = await errorOf(over, 429);
      assert.equal(refused.code, 'TooManyOpenUploads');
      assert.match(refused.message, /^key:\S+ has 100 staged uploads open/);
      assert.equal(theirs.status, 201, await theirs.clone().text());
      await other(
        `${api}/vaults/default/uploads/${((await theirs.json()) as { uploadId: string }).uploadId}`,
        {
          method: 'DELETE',
        },
      );
    } finally {
      for (const id of opened) await call(`/vaults/default/uploads/${id}`, { method: 'DELETE' });
    }
  });

  test("a prefix-bound key sees no other prefix's work or listeners, delivers only to webhooks and its own watch queues, and never becomes an admin of everything", async () => {
    // Prepare: a work item and a listener of the root's, outside the key's prefix.
    const work = (await (
      await call('/vaults/default/work', {
        method: 'POST',
        body: JSON.stringify({ op: 'digest', args: { prefix: 'secret/' } }),
      })
    ).json()) as { id: string };
    const hook = { type: 'webhook', url: 'https://hooks.example.com/dsn' };
    const theirs = (await (
      await call('/vaults/default/listeners', {
        method: 'POST',
        body: JSON.stringify({ path: 'secret/', target: hook }),
      })
    ).json()) as { id: string };
    const key = await createKey({
      policy: [{ vaults: ['default'], prefix: 'pub/', actions: ['read', 'list', 'delete'] }],
    });
    const as = fetchAs(key);
    const listen = (target: unknown) =>
      as(`${api}/vaults/default/listeners`, {
        method: 'POST',
        body: JSON.stringify({ path: 'pub/', target }),
      });
    const queue = (name: string) => `http://sqs.us-east-1.localhost:4566/000000000000/${name}`;
    try {
      // Act and assess: work items are the whole vault's.
      for (const [method, path] of [
        ['GET', '/vaults/default/work'],
        ['GET', `/vaults/default/work/${work.id}`],
        ['DELETE', `/vaults/default/work/${work.id}`],
        ['GET', '/vaults/default/listeners'],
      ] as const)
        assert.equal((await as(`${api}${path}`, { method })).status, 403, `${method} ${path}`);
      // A listener outside its prefix is none of its business: as if there were none.
      for (const method of ['GET', 'DELETE'])
        assert.equal(
          (await as(`${api}/vaults/default/listeners/${theirs.id}`, { method })).status,
          404,
          method,
        );
      // Targets: a Lambda function or another's queue is the vault admin's to choose.
      const lambda = await errorOf(await listen({ type: 'lambda', functionName: 'any-fn' }), 403);
      assert.match(
        lambda.message,
        /admin on vault "default", which a listener delivering to a Lambda function needs/,
      );
      await errorOf(await listen({ type: 'sqs', queueUrl: queue('someone-else') }), 403);
      await errorOf(
        await listen({ type: 'sqs', queueUrl: queue(watchQueueName('AKIDSOMEONEELSE', 'ab12')) }),
        403,
      );
      const own = await listen({
        type: 'sqs',
        queueUrl: queue(`${watchQueueName(key.accessKeyId, 'ab12')}.fifo`),
      });
      assert.equal(own.status, 201, await own.clone().text());
      const webhook = await listen(hook);
      assert.equal(webhook.status, 201, await webhook.clone().text());
      // Its own listener it shows and removes.
      const mine = (await webhook.json()) as { id: string };
      assert.equal((await as(`${api}/vaults/default/listeners/${mine.id}`)).status, 200);
      const removed = await as(`${api}/vaults/default/listeners/${mine.id}`, { method: 'DELETE' });
      assert.equal(removed.status, 204);
      await as(`${api}/vaults/default/listeners/${((await own.json()) as { id: string }).id}`, {
        method: 'DELETE',
      });

      // Admin on every vault but bound to a prefix administers that prefix, not the network.
      const tenant = fetchAs(
        await createKey({ policy: [{ vaults: ['*'], prefix: 'tenant-a/', actions: ['admin'] }] }),
      );
      const escalate = await tenant(`${api}/admin/keys`, {
        method: 'POST',
        body: JSON.stringify({ policy: [{ vaults: ['*'], actions: ['admin'] }] }),
      });
      assert.equal(escalate.status, 403);
      // A combining mark does not step out of a prefix once the store composes the key.
      const team = fetchAs(
        await createKey({
          policy: [{ vaults: ['default'], prefix: 'team-a', actions: ['write'] }],
        }),
      );
      const composed = await team(`${api}/vaults/default/objects/team-a\u0301/x`, {
        method: 'PUT',
        body: 'x',
      });
      assert.equal(composed.status, 403);
    } finally {
      await call(`/vaults/default/listeners/${theirs.id}`, { method: 'DELETE' });
      await call(`/vaults/default/work/${work.id}`, { method: 'DELETE' });
    }
  });

  test("a staged upload is its opener's: another key with write on the vault finds none", async () => {
    // Prepare
    const opened = (await (
      await call('/vaults/default/uploads', {
        method: 'POST',
        body: JSON.stringify({ key: 'pub/owned.bin' }),
      })
    ).json()) as { uploadId: string };
    const other = fetchAs(
      await createKey({ policy: [{ vaults: ['default'], actions: ['write', 'read'] }] }),
    );
    const at = `${api}/vaults/default/uploads/${opened.uploadId}`;
    try {
      // Act and assess
      for (const [method, path, body] of [
        ['PUT', `${at}/parts/1`, 'x'],
        ['POST', `${at}/complete`, undefined],
        ['GET', at, undefined],
        ['DELETE', at, undefined],
      ] as const) {
        const res = await other(path, { method, ...(body ? { body } : {}) });
        const error = await errorOf(res, 404);
        assert.equal(error.code, 'UploadNotFound', `${method} ${path}`);
      }
      const mine = await call(`/vaults/default/uploads/${opened.uploadId}`);
      assert.equal(((await mine.json()) as { state: string }).state, 'open', 'untouched');
    } finally {
      await call(`/vaults/default/uploads/${opened.uploadId}`, { method: 'DELETE' });
    }
  });

  test('bad key requests get 400 naming the field', async () => {
    const res = await call('/admin/keys', {
      method: 'POST',
      body: JSON.stringify({ policy: [{ vaults: ['*'], actions: ['fly'] }] }),
    });
    const error = await errorOf(res, 400);
    assert.match(error.message, /policy\[0\]\.actions\[0\]/);
  });

  test('DSN_AUTH=off (auth: false) skips the authorizer: every request is the local root', async () => {
    const offDir = await tempDir('dsn-access-off');
    const off = await startLocalCloud({
      serviceDir: PROJECT_ROOT,
      dataDir: offDir.path,
      stage: 'test',
      ports: EPHEMERAL_PORTS,
      auth: false,
    });
    try {
      const res = await unsignedFetch(`${off.endpoints.api}/admin/keys`);
      assert.equal(res.status, 200, await res.text());
      assert.equal(off.auth, false);
    } finally {
      await off.stop();
      await offDir.remove();
    }
  });

  describe('the CLI, with no flags', () => {
    const dsn = (args: string[], env: Record<string, string | undefined> = {}) =>
      runDsn(args, { DSN_ENDPOINT: api, ...env });

    test('signs with DSN_ACCESS_KEY_ID, or with the local cloud credentials.json', async () => {
      const fromEnv = await dsn(['vault', 'ls']);
      const fromFile = await dsn(['vault', 'ls'], {
        DSN_ACCESS_KEY_ID: undefined,
        DSN_SECRET_ACCESS_KEY: undefined,
        DSN_DATA_DIR: dir.path,
      });
      const none = await dsn(['vault', 'ls'], {
        DSN_ACCESS_KEY_ID: undefined,
        DSN_SECRET_ACCESS_KEY: undefined,
        DSN_DATA_DIR: join(dir.path, 'nowhere'),
      });
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
      assert.match(fromEnv.stdout, /default/);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /401 MissingAuthentication.*No credentials found/);
    });

    test('key create, ls and disable; share prints a working presigned URL', async () => {
      const created = await dsn([
        '--json',
        'key',
        'create',
        '--vaults',
        'default',
        '--prefix',
        'pub/',
        '--actions',
        'read',
      ]);
      assert.equal(created.code, 0, created.stderr);
      const key = JSON.parse(created.stdout) as IssuedKey;
      const asKey = {
        DSN_ACCESS_KEY_ID: key.accessKeyId,
        DSN_SECRET_ACCESS_KEY: key.secretAccessKey,
      };
      const get = await dsn(['get', 'default/pub/hello.txt', '-'], asKey);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stdout, 'hello');
      const ls = await dsn(['key', 'ls']);
      assert.match(ls.stdout, new RegExp(`${key.accessKeyId}\\s+active`));
      const shared = await dsn(['share', 'default/pub/hello.txt', '--expires', '1h']);
      assert.equal(shared.code, 0, shared.stderr);
      const link = await unsignedFetch(shared.stdout.trim());
      assert.equal(await link.text(), 'hello');
      const disabled = await dsn(['key', 'disable', key.accessKeyId]);
      assert.equal(disabled.code, 0, disabled.stderr);
      const refused = await dsn(['get', 'default/pub/hello.txt', '-'], asKey);
      assert.equal(refused.code, 1);
      // `get` asks with HEAD first, whose answer has no body to name the code.
      assert.match(refused.stderr, /\(401\b/);
    });
  });
});
