import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type LambdaApi, startLambdaApi } from '../../../infra/local/lambda.ts';

/** The API over a fake invoker: `echo` answers its payload, `boom` throws, `held` waits. */
let api: LambdaApi;
const calls: Array<{ name: string; payload: unknown }> = [];
const logged: string[] = [];
let releaseHeld: () => void = () => {};

before(async () => {
  api = await startLambdaApi({
    port: 0,
    portVariable: 'DSN_LAMBDA_PORT',
    has: (name) => ['echo', 'boom', 'held'].includes(name),
    arnOf: (name) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    log: (line) => logged.push(line),
    invoke: async (name, payload) => {
      calls.push({ name, payload });
      if (name === 'boom') throw Object.assign(new Error('it broke'), { name: 'BoomError' });
      if (name === 'held') await new Promise<void>((r) => (releaseHeld = r));
      return { got: payload };
    },
  });
});

after(() => api.stop());

const invoke = (name: string, init: { type?: string; body?: string; method?: string } = {}) =>
  fetch(`${api.url}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`, {
    method: init.method ?? 'POST',
    headers: init.type ? { 'x-amz-invocation-type': init.type } : {},
    body: init.method === 'GET' ? undefined : (init.body ?? ''),
  });

test('RequestResponse answers 200 with what the handler returned; an empty body is {}', async () => {
  const res = await invoke('echo', { body: '{"a":1}' });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { got: { a: 1 } });
  const empty = await invoke('echo');
  assert.deepEqual(await empty.json(), { got: {} });
});

test('Event answers 202 before the function has finished, which then runs to its end', async () => {
  // Act
  const res = await invoke('held', { type: 'Event', body: '{"n":1}' });

  // Assess: answered while the function still waits.
  assert.equal(res.status, 202);
  assert.equal(api.running, 1);
  releaseHeld();
  await new Promise((r) => setImmediate(r));
  assert.equal(api.running, 0);
});

test('a function that throws: 200 with X-Amz-Function-Error and its error; asynchronously, a log line', async () => {
  const res = await invoke('boom', { body: '{}' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-amz-function-error'), 'Unhandled');
  assert.deepEqual(await res.json(), { errorType: 'BoomError', errorMessage: 'it broke' });
  assert.equal((await invoke('boom', { type: 'Event' })).status, 202);
  await new Promise((r) => setImmediate(r));
  assert.match(logged.at(-1) ?? '', /asynchronous invocation of boom failed: BoomError: it broke/);
});

test('refusals in the AWS JSON error shape: unknown function 404, bad body or invocation type 400, other operations 404', async () => {
  // Prepare
  const before = calls.length;

  // Act
  const missing = await invoke('nope', { type: 'Event' });
  const badJson = await invoke('echo', { body: '{not json' });
  const badType = await invoke('echo', { type: 'Sometimes' });
  const other = await invoke('echo', { method: 'GET' });
  const dryRun = await invoke('echo', { type: 'DryRun' });

  // Assess
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('x-amzn-errortype'), 'ResourceNotFoundException');
  assert.deepEqual(await missing.json(), {
    Type: 'User',
    message: 'Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope',
  });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.headers.get('x-amzn-errortype'), 'InvalidRequestContentException');
  assert.equal(badType.status, 400);
  assert.equal(badType.headers.get('x-amzn-errortype'), 'InvalidParameterValueException');
  assert.equal(other.status, 404);
  assert.equal(other.headers.get('x-amzn-errortype'), 'UnknownOperationException');
  assert.equal(dryRun.status, 204);
  assert.equal(calls.length, before, 'none of them ran the function');
});

test('an asynchronous payload over 1 MB is refused 413 and never runs; the same payload synchronously runs', async () => {
  // Prepare: a JSON payload of 1 MiB and a little more.
  const body = JSON.stringify({ pad: 'x'.repeat(1024 * 1024) });
  const before = calls.length;

  // Act
  const asynchronous = await invoke('echo', { type: 'Event', body });
  const synchronous = await invoke('echo', { body });

  // Assess
  assert.equal(asynchronous.status, 413);
  assert.deepEqual(await asynchronous.json(), {
    Type: 'User',
    message: 'Request must be smaller than 1048576 bytes for the InvokeFunction operation',
  });
  assert.equal(synchronous.status, 200);
  assert.equal(calls.length, before + 1, 'only the synchronous one ran');
});
