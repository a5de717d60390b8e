import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ApiError,
  CliError,
  describeError,
  UnreachableError,
  UsageError,
} from '../../../bin/errors.ts';

test('an API error names the action, the message, status and code, and what to do', () => {
  const line = describeError(
    'put a.jpg photos/a.jpg',
    new ApiError(404, 'VaultNotFound', 'vault "photos" does not exist'),
    { vault: 'photos', key: 'a.jpg' },
  );
  assert.equal(
    line,
    'put a.jpg photos/a.jpg failed: vault "photos" does not exist (404 VaultNotFound). Create it with: dsn vault create photos (see dsn vault ls for the vaults there are)',
  );
});

test('messages with line breaks still make one line', () => {
  const line = describeError('ls v', new ApiError(500, 'Internal', 'first\nsecond'));
  assert.equal(line.includes('\n'), false);
  assert.match(line, /first second \(500 Internal\)/);
});

test('a refused loopback endpoint says to start the local cloud; other hosts name the reason', () => {
  const refused = Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  });
  assert.equal(
    describeError('vault ls', new UnreachableError('http://127.0.0.1:3000', refused)),
    'vault ls failed: cannot reach http://127.0.0.1:3000: is the local cloud running? (npm start)',
  );
  const unknown = Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' }),
  });
  assert.match(
    describeError('vault ls', new UnreachableError('https://dsn.example.com', unknown)),
    /cannot reach https:\/\/dsn\.example\.com \(ENOTFOUND\): check --endpoint or DSN_ENDPOINT/,
  );
});

test('usage errors exit 2, other CLI errors 1; unknown errors point at --debug', () => {
  assert.equal(new UsageError('expected VAULT/KEY').exitCode, 2);
  assert.equal(new CliError('x').exitCode, 1);
  assert.match(
    describeError('get v/k', new Error('boom')),
    /boom \(run with --debug for the stack\)$/,
  );
});
