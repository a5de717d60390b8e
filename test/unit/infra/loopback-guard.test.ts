import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isLoopbackHost,
  isLoopbackOrigin,
  loopbackRefusal,
} from '../../../infra/local/loopback-guard.ts';

test('a Host naming this machine passes, with or without a port; any other name is refused', () => {
  for (const host of [
    '127.0.0.1',
    '127.0.0.1:3000',
    'localhost',
    'LOCALHOST:3000',
    'localhost.:3000',
    '[::1]',
    '[::1]:4566',
    '127.1.2.3:80',
    // S3 clients in virtual-hosted style, and *.localhost names in general (RFC 6761).
    'dsn-local-unit-0.localhost:4566',
  ]) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (const host of [
    'evil.example',
    'evil.example:3000',
    // Rebinding services resolve names like these to 127.0.0.1: the name is what counts.
    '127.0.0.1.nip.io:3000',
    'localhost.evil.example',
    'localhost.fauxqs.dev:4566',
    '10.0.0.1:3000',
    '0.0.0.0:3000',
    '[::2]:3000',
    '128.0.0.1',
    'evil.example@127.0.0.1',
    '127.0.0.1/x',
    '',
    '127.0.0.256',
  ]) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

test('an Origin of a page on this machine passes; any other, and "null", is refused', () => {
  for (const origin of [
    'http://localhost:5173',
    'http://127.0.0.1:3000',
    'https://localhost',
    'http://[::1]:8080',
  ]) {
    assert.equal(isLoopbackOrigin(origin), true, origin);
  }
  for (const origin of [
    'https://evil.example',
    'http://127.0.0.1.nip.io',
    'null',
    'file://',
    'chrome-extension://abc',
    'not a url',
  ]) {
    assert.equal(isLoopbackOrigin(origin), false, origin);
  }
});

test('a request is refused for its Host or its Origin, and passes with neither (curl, SDKs)', () => {
  // Act
  const refused = {
    host: loopbackRefusal({ host: 'rebind.evil.example:3000' }),
    origin: loopbackRefusal({ host: '127.0.0.1:3000', origin: 'https://evil.example' }),
  };
  const passed = [
    loopbackRefusal({ host: '127.0.0.1:3000' }),
    loopbackRefusal({ host: 'localhost:3000', origin: 'http://localhost:5173' }),
    loopbackRefusal({}),
  ];

  // Assess: the reason names what was refused.
  assert.match(refused.host ?? '', /^Host "rebind\.evil\.example:3000" is not this machine/);
  assert.match(refused.origin ?? '', /^Origin "https:\/\/evil\.example" is not this machine/);
  assert.deepEqual(passed, [undefined, undefined, undefined]);
});
