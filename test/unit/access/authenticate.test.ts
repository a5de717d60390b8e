import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AuthenticateDeps,
  authenticate,
  createKey,
  createSession,
  disableKey,
  type IncomingRequest,
  type KeyDeps,
  MAX_CLOCK_SKEW_MS,
  presignUrl,
  signatureHeaders,
} from '../../../shared/access/index.ts';
import type { Credentials } from '../../../shared/access/signer.ts';
import { LocalSecretCipher } from '../../../shared/aws/access/local-cipher.ts';
import {
  AccessDeniedError,
  InvalidParameterError,
  UnauthenticatedError,
} from '../../../shared/errors.ts';
import { ManualClock } from '../../helpers/clock.ts';
import { MemoryKeyStore } from '../../helpers/memory/index.ts';

const REGION = 'us-east-1';
const ROOT: Credentials = { accessKeyId: 'DSNROOTUNITTEST00001', secretAccessKey: 's'.repeat(40) };
const BASE = 'http://127.0.0.1:3000';

function world() {
  const clock = new ManualClock();
  const root = { get: async () => ROOT };
  const keys = new MemoryKeyStore();
  const cipher = new LocalSecretCipher(root);
  const deps: AuthenticateDeps & KeyDeps = { keys, cipher, root, clock, region: REGION };
  return { clock, keys, deps };
}

/** A request as the authorizer gets it, signed (header form) at the clock's time. */
async function signed(
  clock: ManualClock,
  credentials: Credentials,
  path: string,
  method = 'GET',
  tamper: (r: IncomingRequest) => void = () => {},
): Promise<IncomingRequest> {
  const url = new URL(`${BASE}${path}`);
  const headers = await signatureHeaders(url, method, credentials, REGION, clock.date());
  const req: IncomingRequest = {
    method,
    // API Gateway hands the authorizer the path percent-decoded.
    rawPath: decodeURIComponent(url.pathname),
    rawQueryString: url.search.slice(1),
    headers: { ...headers, host: url.host },
  };
  tamper(req);
  return req;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof UnauthenticatedError, String(err));
  return err.code;
}

describe('authenticate', () => {
  test('the root key passes, with every action; a tampered method, path or query does not', async () => {
    const { clock, deps } = world();
    const path = '/vaults/photos/objects/2026/a%20b.jpg?explain&x=1';
    const principal = await authenticate(deps, await signed(clock, ROOT, path));
    assert.equal(principal.accessKeyId, ROOT.accessKeyId);
    assert.equal(principal.protected, false);
    for (const tamper of [
      (r: IncomingRequest) => {
        r.method = 'DELETE';
      },
      (r: IncomingRequest) => {
        r.rawPath = '/vaults/photos/objects/2026/other.jpg';
      },
      (r: IncomingRequest) => {
        r.rawQueryString = 'explain&x=2';
      },
      (r: IncomingRequest) => {
        r.headers.host = 'evil.example';
      },
    ]) {
      assert.equal(
        await refusal(authenticate(deps, await signed(clock, ROOT, path, 'GET', tamper))),
        'InvalidSignature',
      );
    }
  });

  test('a signature 15 minutes off passes, and one a second more does not, either way', async () => {
    const { clock, deps } = world();
    const at = await signed(clock, ROOT, '/health');
    clock.advance(MAX_CLOCK_SKEW_MS);
    await authenticate(deps, at);
    clock.advance(1000);
    assert.equal(await refusal(authenticate(deps, at)), 'RequestTimeTooSkewed');
    const future = await signed(clock, ROOT, '/health');
    clock.advance(-(MAX_CLOCK_SKEW_MS + 1000));
    assert.equal(await refusal(authenticate(deps, future)), 'RequestTimeTooSkewed');
  });

  test('a path API Gateway decoded is checked as the client encoded it: encodeURIComponent or RFC 3986', async () => {
    const { clock, deps } = world();
    const key = ['photos 2026', 'été', "it's (1)!*~.jpg"];
    // This project's clients: encodeURIComponent per segment.
    const ours = `/vaults/v/objects/${key.map(encodeURIComponent).join('/')}`;
    await authenticate(deps, await signed(clock, ROOT, ours));
    // botocore and most SDKs: RFC 3986's strict form (!'()* encoded too).
    const strict = `/vaults/v/objects/${key
      .map((s) =>
        encodeURIComponent(s).replace(
          /[!'()*]/g,
          (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
        ),
      )
      .join('/')}`;
    assert.notEqual(strict, ours);
    await authenticate(deps, await signed(clock, ROOT, strict));
    // A client that signed the path as typed (reserved characters left as they are).
    const typed = '/vaults/v/objects/a:b@c$d';
    assert.equal(new URL(`${BASE}${typed}`).pathname, typed);
    await authenticate(deps, await signed(clock, ROOT, typed));
    // Another key is another path.
    const other = await signed(clock, ROOT, ours, 'GET', (r) => {
      r.rawPath = r.rawPath.replace('été', 'ete');
    });
    assert.equal(await refusal(authenticate(deps, other)), 'InvalidSignature');
  });

  test('a presigned URL works until X-Amz-Expires has passed, for its method only', async () => {
    const { clock, deps } = world();
    const url = await presignUrl(
      new URL(`${BASE}/vaults/v/objects/k`),
      'GET',
      ROOT,
      REGION,
      60,
      clock.date(),
    );
    const req = (method: string): IncomingRequest => ({
      method,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers: { host: url.host },
    });
    await authenticate(deps, req('GET'));
    assert.equal(await refusal(authenticate(deps, req('PUT'))), 'InvalidSignature');
    clock.advance(60_001);
    assert.equal(await refusal(authenticate(deps, req('GET'))), 'RequestExpired');
  });

  test('unsigned, another region, and unknown and disabled keys are refused', async () => {
    const { clock, deps } = world();
    const key = await createKey(deps, { policy: [{ vaults: ['*'], actions: ['read'] }] });
    await authenticate(deps, await signed(clock, key, '/health'));
    const unsigned = {
      method: 'GET',
      rawPath: '/health',
      rawQueryString: '',
      headers: { host: 'h' },
    };
    assert.equal(await refusal(authenticate(deps, unsigned)), 'MissingAuthentication');
    const elsewhere = await signatureHeaders(
      new URL(`${BASE}/health`),
      'GET',
      ROOT,
      'eu-west-1',
      clock.date(),
    );
    assert.equal(
      await refusal(
        authenticate(deps, { ...unsigned, headers: { ...elsewhere, host: '127.0.0.1:3000' } }),
      ),
      'InvalidSignature',
    );
    const unknown = { accessKeyId: 'DSNKNOSUCHKEY0000000', secretAccessKey: 'x'.repeat(40) };
    assert.equal(
      await refusal(authenticate(deps, await signed(clock, unknown, '/health'))),
      'InvalidAccessKeyId',
    );
    await disableKey(deps, key.accessKeyId);
    await disableKey(deps, key.accessKeyId);
    assert.equal(
      await refusal(authenticate(deps, await signed(clock, key, '/health'))),
      'InvalidAccessKeyId',
    );
  });

  test('a session carries its key policy and flag, needs its token, expires, and stops with its key', async () => {
    const { clock, deps } = world();
    const key = await createKey(deps, {
      policy: [{ vaults: ['v'], actions: ['read'] }],
      protected: true,
    });
    const keyPrincipal = await authenticate(deps, await signed(clock, key, '/sessions', 'POST'));
    const session = await createSession(deps, keyPrincipal, { durationSeconds: 60 });
    const asSession = await authenticate(deps, await signed(clock, session, '/health'));
    assert.deepEqual(asSession, {
      accessKeyId: session.accessKeyId,
      rootKeyId: key.accessKeyId,
      policy: key.policy,
      protected: true,
    });
    await assert.rejects(createSession(deps, asSession, undefined), AccessDeniedError);
    assert.equal(
      await refusal(
        authenticate(deps, await signed(clock, { ...session, sessionToken: 'x' }, '/health')),
      ),
      'InvalidSignature',
    );
    clock.advance(60_000);
    assert.equal(
      await refusal(authenticate(deps, await signed(clock, session, '/health'))),
      'ExpiredToken',
    );
    const second = await createSession(deps, keyPrincipal, {});
    await disableKey(deps, key.accessKeyId);
    assert.equal(
      await refusal(authenticate(deps, await signed(clock, second, '/health'))),
      'InvalidAccessKeyId',
    );
  });

  test('keys are stored with their secret sealed, and the root key cannot be disabled', async () => {
    const { keys, deps } = world();
    const key = await createKey(deps, { policy: [{ vaults: ['*'], actions: ['admin'] }] });
    const stored = keys.records.get(key.accessKeyId);
    assert.ok(stored);
    assert.ok(!JSON.stringify(stored).includes(key.secretAccessKey));
    await assert.rejects(disableKey(deps, ROOT.accessKeyId), InvalidParameterError);
    await assert.rejects(disableKey(deps, 'not-an-id'), InvalidParameterError);
    await assert.rejects(
      createKey(deps, { policy: [{ vaults: ['*'], actions: ['fly'] }] }),
      /policy\[0\]\.actions\[0\]/,
    );
  });
});

test('a key made with a client group, and its sessions, sign as principals of that group', async () => {
  // Prepare
  const { clock, deps } = world();
  const key = await createKey(deps, {
    policy: [{ vaults: ['*'], actions: ['read'] }],
    clientGroup: 'eu-readers',
  });
  // Act
  const caller = await authenticate(deps, await signed(clock, key, '/vaults/a/objects/k'));
  const session = await createSession(deps, caller, {});
  const viaSession = await authenticate(deps, await signed(clock, session, '/vaults/a/objects/k'));
  // Assess
  assert.equal(key.clientGroup, 'eu-readers');
  assert.equal(caller.clientGroup, 'eu-readers');
  assert.equal(viaSession.clientGroup, 'eu-readers');
  await assert.rejects(
    createKey(deps, { policy: [{ vaults: ['*'], actions: ['read'] }], clientGroup: 'a b' }),
    (err: Error) => err instanceof InvalidParameterError && /clientGroup/.test(err.message),
  );
});
