/**
 * `DSN_WORK_CRASH_AT`: the points where `dsn work run` kills itself, checked on the memory world
 * with a kill that throws instead (the process's own SIGKILL is exercised by
 * test/integration/work-crash.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CrashPoint, crashHooks, crashPoint } from '../../../bin/commands/work-crash.ts';
import { UsageError } from '../../../bin/errors.ts';
import { addWork, getWork, runNext } from '../../../shared/work/index.ts';
import { workWorld } from '../work/world.ts';

describe('work run crash points', () => {
  test('DSN_WORK_CRASH_AT names a point, or nothing; anything else is a usage error', () => {
    assert.equal(crashPoint({}), undefined);
    assert.equal(crashPoint({ DSN_WORK_CRASH_AT: '' }), undefined);
    assert.equal(crashPoint({ DSN_WORK_CRASH_AT: 'mid-op' }), 'mid-op');
    assert.throws(() => crashPoint({ DSN_WORK_CRASH_AT: 'later' }), UsageError);
  });

  for (const [point, expected] of [
    ['locked', { opened: 0, written: 0 }],
    ['mid-op', { opened: 1, written: 0 }],
    ['before-delete', { opened: 1, written: 1 }],
  ] as Array<[CrashPoint, { opened: number; written: number }]>) {
    test(`${point}: the worker dies there, owning the item, and goes no further`, async () => {
      // Arrange: a digest with output over one object, in the memory world.
      const w = workWorld();
      let opened = 0;
      let written = 0;
      const objects = {
        async *list() {
          yield { key: 'in/a', size: 1 };
        },
        async open() {
          opened++;
          return (async function* () {
            yield new Uint8Array([1]);
          })();
        },
        async write(_key: string, body: AsyncIterable<Uint8Array>) {
          for await (const _ of body);
          written++;
          return { size: 1 };
        },
      };
      const item = await addWork(w.list, 'jobs', {
        op: 'digest',
        args: { prefix: 'in/', output: 'out/d' },
      });
      // A kill that never returns, as the process's own SIGKILL.
      let died: string | undefined;
      const crash = crashHooks(point, (at, id, token) => {
        died = `${at} ${id} ${token}`;
        return new Promise<never>(() => {});
      });
      const deps = { ...w.worker('crashing', crash.hooks), objects: () => crash.objects(objects) };

      // Act
      let returned = false;
      void runNext(deps, 'jobs').then(() => {
        returned = true;
      });
      for (let i = 0; i < 100 && died === undefined; i++) await new Promise(setImmediate);

      // Assert
      assert.match(died ?? 'never', new RegExp(`^${point} ${item.id} \\d+$`));
      assert.equal(returned, false, 'the worker went no further');
      assert.deepEqual({ opened, written }, expected);
      const record = await getWork(w.list, 'jobs', item.id);
      assert.equal(record.state, 'running', 'no outcome recorded');
    });
  }
});
