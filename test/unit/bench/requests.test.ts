/**
 * The benchmarks' request counts (bench/requests.ts): what a benchmark takes back of its own
 * requests leaves the service's, the operation's and the table's counts agreeing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  operationsPer,
  requestsPer,
  served,
  tablesPer,
  uncountDynamoDb,
} from '../../../bench/requests.ts';

test("a benchmark's own reads are taken back from the service, the operation and the table", () => {
  // Prepare: two PUTs' worth of counts, three of the GetItems the benchmark's own.
  const into = served();
  into.services.set('DynamoDB', 10).set('S3', 12);
  into.operations.set('DynamoDB.GetItem', 6).set('DynamoDB.UpdateItem', 4).set('S3.PUT', 12);
  into.tables.set('GetItem RevisionsTable', 5).set('GetItem VaultsTable', 1);
  into.tables.set('UpdateItem RevisionsTable', 4);

  // Act
  uncountDynamoDb(into, 'GetItem', 'RevisionsTable', 3);

  // Assess
  assert.equal(requestsPer(into, 2), '9.5 (DynamoDB 3.5, S3 6.0)');
  assert.equal(operationsPer(into, 2), 'S3.PUT 6.0, DynamoDB.UpdateItem 2.0, DynamoDB.GetItem 1.5');
  assert.equal(
    tablesPer(into, 2),
    'UpdateItem RevisionsTable 2.0, GetItem RevisionsTable 1.0, GetItem VaultsTable 0.5',
  );
});
