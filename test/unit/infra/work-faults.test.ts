/** Which DynamoDB requests a unit fault on the work table refuses, delays or lets pass. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  describeRequest,
  refuses,
  unitOfPartition,
  WorkTableFaults,
} from '../../../infra/local/work-faults.ts';
import type { UnitFault } from '../../../shared/store/fault.ts';

const TARGET = 'DynamoDB_20120810.';
const request = (op: string, body: Record<string, unknown>) =>
  describeRequest(`${TARGET}${op}`, JSON.stringify(body));
const lock = request('UpdateItem', {
  TableName: 'work',
  Key: { pk: { S: 'unit/3' }, sk: { S: 'jobs/000000000001' } },
  ReturnValues: 'ALL_NEW',
});
const release = request('UpdateItem', {
  TableName: 'work',
  Key: { pk: { S: 'unit/3' }, sk: { S: 'jobs/000000000001' } },
});
const put = request('PutItem', { TableName: 'work', Item: { pk: { S: 'unit/3' } } });
const get = request('GetItem', { TableName: 'work', Key: { pk: { S: 'unit/3' } } });

describe('work table faults', () => {
  test('a request names its operation, table, partition and whether it returns the item', () => {
    assert.deepEqual(lock, {
      operation: 'UpdateItem',
      table: 'work',
      partitions: ['unit/3'],
      returnsItem: true,
    });
    assert.deepEqual(put.partitions, ['unit/3']);
    assert.equal(release.returnsItem, false);
    assert.deepEqual(describeRequest(undefined, 'not json'), {
      operation: '',
      partitions: [],
      returnsItem: false,
    });
  });

  test('only unit/<u> partitions are units', () => {
    assert.equal(unitOfPartition('unit/3'), 3);
    assert.equal(unitOfPartition('unit/255'), 255);
    assert.equal(unitOfPartition('vault/jobs'), undefined);
    assert.equal(unitOfPartition('unit/3/foreign'), undefined);
    assert.equal(unitOfPartition(undefined), undefined);
  });

  test('write-fail refuses writes; read-fail refuses reads and the lock that reads back', () => {
    const writeFail: UnitFault = { unit: 3, mode: 'write-fail' };
    const readFail: UnitFault = { unit: 3, mode: 'read-fail' };
    assert.deepEqual(
      [lock, release, put, get].map((r) => refuses(writeFail, r)),
      [true, true, true, false],
    );
    assert.deepEqual(
      [lock, release, put, get].map((r) => refuses(readFail, r)),
      [true, false, false, true],
    );
    assert.equal(refuses({ unit: 3, mode: 'slow', delayMs: 5 }, lock), false);
    assert.equal(refuses({ unit: 3, mode: 'corrupt' }, get), false);
  });

  test("a fault applies to its unit's partition of the work table only", () => {
    const faults: UnitFault[] = [{ unit: 3, mode: 'write-fail' }];
    const layer = new WorkTableFaults({ list: () => faults }, () => 'work');
    assert.equal(layer.faultFor(lock, faults), faults[0]);
    const otherUnit = request('UpdateItem', { TableName: 'work', Key: { pk: { S: 'unit/4' } } });
    assert.equal(layer.faultFor(otherUnit, faults), undefined);
    const otherTable = request('UpdateItem', {
      TableName: 'objects',
      Key: { pk: { S: 'unit/3' } },
    });
    assert.equal(layer.faultFor(otherTable, faults), undefined);
    // A batch is refused when any unit it writes at has the fault.
    const batch = (...units: number[]) =>
      request('BatchWriteItem', {
        RequestItems: {
          work: units.map((u) => ({ DeleteRequest: { Key: { pk: { S: `unit/${u}` } } } })),
        },
      });
    assert.deepEqual(batch(1, 3, 5).partitions, ['unit/1', 'unit/3', 'unit/5']);
    assert.equal(layer.faultFor(batch(1, 3, 5), faults), faults[0]);
    assert.equal(refuses(faults[0] as UnitFault, batch(1, 3, 5)), true);
    assert.equal(layer.faultFor(batch(1, 5), faults), undefined);
    const unprovisioned = new WorkTableFaults({ list: () => faults }, () => undefined);
    assert.equal(unprovisioned.faultFor(lock, faults), undefined);
  });
});
