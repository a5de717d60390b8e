/**
 * Unit faults on the work table: a storage unit of the work system (seed 001) is the `unit/<u>`
 * partition of the work table, where its function slices and their locks live. The local cloud
 * puts this layer in front of its DynamoDB (dynalite), so a unit injected with a fault at
 * `PUT /admin/units/{u}/fault` fails there too, as it does in its bucket (`unit-faults.ts`):
 *
 * - `write-fail`: PutItem, UpdateItem and DeleteItem on the partition answer 503;
 * - `read-fail`: GetItem answers 503, and so does any write that returns the item
 *   (`ReturnValues` other than NONE): a lock-read-delete reads the slice back in its answer;
 * - `slow`: every request on the partition waits `delayMs` first;
 * - `corrupt` flips bytes in S3 only; the work table is left as it is.
 *
 * A BatchWriteItem on the work table counts as a write at every unit it names: one faulty unit
 * refuses (or delays) the whole batch, as the store's batched deletes of finished items expect.
 *
 * Otherwise only requests naming one key (`Key` or `Item`) of the work table are judged; everything else
 * passes at once, and with no fault set no request is even read here. Local cloud only, and
 * only with dynalite: DynamoDB Local runs in a process of its own, without this layer.
 */
import type { Server, ServerResponse } from 'node:http';
import type { UnitFault } from '../../shared/store/fault.ts';
import { interpose, type RequestListener, replay } from './interpose.ts';
import { HeldRequests } from './unit-faults.ts';

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
const READS = new Set(['GetItem']);

/** What the layer needs of the unit faults: the ones set now. */
export interface FaultSource {
  list(): UnitFault[];
}

interface Request {
  operation: string;
  table?: string;
  /** The partition keys it writes or reads (several for a batch). */
  partitions: string[];
  returnsItem: boolean;
}

type Key = Record<string, { S?: unknown }> | undefined;

/** The table and partition keys of a BatchWriteItem of one table (the store sends no other). */
function batchOf(json: Record<string, unknown>): Pick<Request, 'table' | 'partitions'> {
  const tables = Object.entries((json.RequestItems ?? {}) as Record<string, unknown[]>);
  const [table, requests] = tables[0] ?? [undefined, []];
  const partitions = (Array.isArray(requests) ? requests : []).flatMap((r) => {
    const w = r as { DeleteRequest?: { Key?: Key }; PutRequest?: { Item?: Key } };
    const pk = (w.DeleteRequest?.Key ?? w.PutRequest?.Item)?.pk?.S;
    return typeof pk === 'string' ? [pk] : [];
  });
  return { table, partitions };
}

/** The operation, table, partition key and `ReturnValues` of a DynamoDB JSON request. */
export function describeRequest(target: string | undefined, body: string): Request {
  const operation = (target ?? '').split('.').at(-1) ?? '';
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return { operation, partitions: [], returnsItem: false };
  }
  if (operation === 'BatchWriteItem') return { operation, ...batchOf(json), returnsItem: false };
  const key = (json.Key ?? json.Item) as Key;
  const pk = key?.pk?.S;
  const returnValues = typeof json.ReturnValues === 'string' ? json.ReturnValues : 'NONE';
  return {
    operation,
    table: typeof json.TableName === 'string' ? json.TableName : undefined,
    partitions: typeof pk === 'string' ? [pk] : [],
    returnsItem: returnValues !== 'NONE',
  };
}

/** The unit a partition key names (`unit/3` is unit 3), or undefined. */
export function unitOfPartition(partition: string | undefined): number | undefined {
  const m = /^unit\/(\d{1,3})$/.exec(partition ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Whether `fault` refuses `request` (a slow fault delays instead; see `install`). */
export function refuses(fault: UnitFault, request: Request): boolean {
  if (fault.mode === 'write-fail') return WRITES.has(request.operation);
  if (fault.mode === 'read-fail')
    return READS.has(request.operation) || (WRITES.has(request.operation) && request.returnsItem);
  return false;
}

function refuse(res: ServerResponse, fault: UnitFault): void {
  const body = JSON.stringify({
    __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailable',
    message: `unit ${fault.unit} is down (${fault.mode}, injected)`,
  });
  res.writeHead(503, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export class WorkTableFaults {
  private readonly faults: FaultSource;
  private readonly table: () => string | undefined;
  /** Requests held back by a `slow` fault, dropped when the cloud stops (as a crash would). */
  private readonly held = new HeldRequests();

  /** @param table the work table's name, once the stack is provisioned. */
  constructor(faults: FaultSource, table: () => string | undefined) {
    this.faults = faults;
    this.table = table;
  }

  /** The fault on a unit whose work partition `request` addresses, if any. */
  faultFor(request: Request, faults: UnitFault[]): UnitFault | undefined {
    if (request.table === undefined || request.table !== this.table()) return undefined;
    for (const partition of request.partitions) {
      const unit = unitOfPartition(partition);
      const fault = unit === undefined ? undefined : faults.find((f) => f.unit === unit);
      if (fault) return fault;
    }
    return undefined;
  }

  dropHeld(): void {
    this.held.drop();
  }

  /** Puts the check in front of the DynamoDB emulator's own request handling. */
  install(server: Server): void {
    interpose(server, (req, res, pass: RequestListener) => {
      const faults = this.faults.list();
      if (faults.length === 0 || req.method !== 'POST') return pass(req, res);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', () => res.destroy());
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const header = req.headers['x-amz-target'];
        const request = describeRequest(
          Array.isArray(header) ? header[0] : header,
          body.toString('utf8'),
        );
        const fault = this.faultFor(request, faults);
        if (!fault) return pass(replay(req, body), res);
        if (refuses(fault, request)) return refuse(res, fault);
        if (fault.mode === 'slow')
          return this.held.hold(res, fault.delayMs ?? 0, () => pass(replay(req, body), res));
        pass(replay(req, body), res);
      });
    });
  }
}
