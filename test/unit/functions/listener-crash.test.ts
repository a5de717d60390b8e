import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listenerCrashHooks } from '../../../functions/listener-crash.ts';

test('DSN_LISTENER_CRASH_AT: unset or empty adds no hook, an unknown point is refused naming the variable', () => {
  assert.equal(listenerCrashHooks({}), undefined);
  assert.equal(listenerCrashHooks({ DSN_LISTENER_CRASH_AT: '' }), undefined);
  assert.equal(
    typeof listenerCrashHooks({ DSN_LISTENER_CRASH_AT: 'after-delivery' })?.afterDelivery,
    'function',
  );
  assert.throws(
    () => listenerCrashHooks({ DSN_LISTENER_CRASH_AT: 'sometime' }),
    /DSN_LISTENER_CRASH_AT must be one of after-delivery, got "sometime"/,
  );
});
