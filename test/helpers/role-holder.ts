/**
 * A process that holds a leased role, for the test of a holder killed: it takes `role` on the
 * local cloud's DynamoDB, prints its lease as one JSON line, and renews it every third of the
 * lease until it is killed.
 *
 *   node test/helpers/role-holder.ts <dynamodb endpoint> <region> <admin table> <role> <lease ms>
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AsyncFenceScope } from '../../shared/aws/topology/fence.ts';
import { DynamoRoleLeases } from '../../shared/aws/topology/role-leases.ts';
import { systemClock } from '../../shared/clock.ts';
import { acquireRole, checkRole } from '../../shared/topology/index.ts';

const [endpoint, region, table, role, leaseMs] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const dynamodb = new DynamoDBClient({
  endpoint,
  region,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const leases = new DynamoRoleLeases(DynamoDBDocumentClient.from(dynamodb), table);
const held = await acquireRole(
  {
    leases,
    fences: new AsyncFenceScope(),
    clock: systemClock,
    holder: `role-holder-${process.pid}`,
    leaseMs: Number(leaseMs),
  },
  checkRole(role),
);
process.stdout.write(
  `${JSON.stringify(held ? { token: held.token, holder: held.holder } : { held: false })}\n`,
);
if (!held) process.exit(1);
setInterval(() => {
  held.renew().catch((err: unknown) => {
    process.stderr.write(`renewal refused: ${String(err)}\n`);
    process.exit(2);
  });
}, Number(leaseMs) / 3);
