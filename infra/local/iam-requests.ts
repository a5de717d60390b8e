/**
 * What a request to an emulator asks of IAM: its actions and the ARNs they act on, as AWS's
 * service authorization reference lists them for each API (the "Actions, resources, and
 * condition keys" pages), for the APIs a function here can call. A batch asks once per table
 * (DynamoDB) or as its single action (SQS's `...Batch` calls ask for the plain action); a
 * transaction asks per item; a copy asks to read its source and write its target.
 *
 * Hand-written, as `iam-policy.ts` is. An API it does not know asks for `<service>:<Operation>`
 * on `*`, which only a wildcard statement allows: a function calling it is denied, as it would
 * likely be on AWS, and the log names the call.
 */
import type { Authorization } from './iam-policy.ts';

/** The AWS services the emulators answer, as SigV4 credential scopes name them. */
export type ScopeService =
  | 's3'
  | 'dynamodb'
  | 'sqs'
  | 'sns'
  | 'states'
  | 'lambda'
  | 'secretsmanager';

export interface RequestFacts {
  region: string;
  accountId: string;
  /** The partition key attribute of a table (physical name), or of one of its indexes. */
  partitionKey(table: string, index?: string): string | undefined;
  /** A secret's ARN from its name or ARN, when it exists. */
  secretArn(id: string): string | undefined;
}

export interface RequestLine {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

function header(req: RequestLine, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The access key and service of a SigV4 request, from its header or its presigned query. */
export function credentialOf(
  req: RequestLine,
): { accessKeyId: string; service: string } | undefined {
  const auth = header(req, 'authorization');
  const scope =
    (auth ? /Credential=([^,\s]+)/.exec(auth)?.[1] : undefined) ??
    new URL(req.url, 'http://local').searchParams.get('X-Amz-Credential') ??
    undefined;
  if (!scope) return undefined;
  const [accessKeyId, , , service] = scope.split('/');
  return accessKeyId && service ? { accessKeyId, service } : undefined;
}

/** Whether the request's body is needed to tell what it asks (read before it is passed on). */
export function needsBody(service: ScopeService, req: RequestLine): boolean {
  if (service === 's3') {
    // DeleteObjects names its keys in an XML body; every other S3 call is known by its line.
    return req.method === 'POST' && new URL(req.url, 'http://local').searchParams.has('delete');
  }
  return service !== 'lambda';
}

// ---------------------------------------------------------------------------------------------
// S3 (REST)

const s3Arn = (bucket: string, key?: string) =>
  key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;

/** Bucket sub-resources and the actions that read (GET) and write (PUT, DELETE) them. */
const BUCKET_SUBRESOURCES: Record<string, [string, string]> = {
  cors: ['GetBucketCORS', 'PutBucketCORS'],
  policy: ['GetBucketPolicy', 'PutBucketPolicy'],
  location: ['GetBucketLocation', 'GetBucketLocation'],
  versioning: ['GetBucketVersioning', 'PutBucketVersioning'],
  notification: ['GetBucketNotification', 'PutBucketNotification'],
  lifecycle: ['GetLifecycleConfiguration', 'PutLifecycleConfiguration'],
  tagging: ['GetBucketTagging', 'PutBucketTagging'],
  acl: ['GetBucketAcl', 'PutBucketAcl'],
  encryption: ['GetEncryptionConfiguration', 'PutEncryptionConfiguration'],
  publicAccessBlock: ['GetBucketPublicAccessBlock', 'PutBucketPublicAccessBlock'],
  ownershipControls: ['GetBucketOwnershipControls', 'PutBucketOwnershipControls'],
};

/** The source of a copy, `/bucket/key` or `bucket/key`, percent-encoded, maybe `?versionId=`. */
function copySource(value: string): { bucket: string; key: string; version: boolean } | undefined {
  const [path = '', query = ''] = value.split('?', 2);
  const decoded = decodeURIComponent(path.replace(/^\//, ''));
  const slash = decoded.indexOf('/');
  if (slash <= 0) return undefined;
  return {
    bucket: decoded.slice(0, slash),
    key: decoded.slice(slash + 1),
    version: new URLSearchParams(query).has('versionId'),
  };
}

/** The keys a DeleteObjects body names. */
function deleteKeys(body: string): string[] {
  const keys: string[] = [];
  for (const m of body.matchAll(/<Key>([\s\S]*?)<\/Key>/g)) {
    keys.push(
      (m[1] as string)
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
        .replace(/&#x([0-9a-f]+);/gi, (_, n: string) =>
          String.fromCodePoint(Number.parseInt(n, 16)),
        )
        .replace(/&amp;/g, '&'),
    );
  }
  return keys;
}

function s3Authorizations(req: RequestLine, body: string | undefined): Authorization[] {
  const url = new URL(req.url, 'http://local');
  const q = url.searchParams;
  // Path style (the SDK's with forcePathStyle, and presigned URLs here): /bucket/key.
  const path = url.pathname.replace(/^\//, '');
  const slash = path.indexOf('/');
  const bucket = decodeURIComponent(slash === -1 ? path : path.slice(0, slash));
  const key = slash === -1 ? undefined : decodeURIComponent(path.slice(slash + 1));
  const method = req.method.toUpperCase();
  const ask = (action: string, resource: string): Authorization => ({
    action: `s3:${action}`,
    resource,
  });
  if (bucket === '') return [ask('ListAllMyBuckets', '*')];
  if (key === undefined || key === '') {
    const arn = s3Arn(bucket);
    if (method === 'POST' && q.has('delete'))
      return deleteKeys(body ?? '').map((k) => ask('DeleteObject', s3Arn(bucket, k)));
    const sub = Object.keys(BUCKET_SUBRESOURCES).find((s) => q.has(s));
    if (sub === 'policy' && method === 'DELETE') return [ask('DeleteBucketPolicy', arn)];
    if (sub) {
      const [read, write] = BUCKET_SUBRESOURCES[sub] as [string, string];
      return [ask(method === 'GET' ? read : write, arn)];
    }
    if (method === 'GET' && q.has('uploads')) return [ask('ListBucketMultipartUploads', arn)];
    if (method === 'GET' && q.has('versions')) return [ask('ListBucketVersions', arn)];
    if (method === 'GET' || method === 'HEAD') return [ask('ListBucket', arn)];
    if (method === 'PUT') return [ask('CreateBucket', arn)];
    if (method === 'DELETE') return [ask('DeleteBucket', arn)];
    return [ask(`${method}Bucket`, arn)];
  }
  const arn = s3Arn(bucket, key);
  const version = q.has('versionId');
  if (method === 'GET' || method === 'HEAD') {
    if (q.has('uploadId')) return [ask('ListMultipartUploadParts', arn)];
    if (q.has('attributes'))
      return [ask(version ? 'GetObjectVersionAttributes' : 'GetObjectAttributes', arn)];
    if (q.has('tagging'))
      return [ask(version ? 'GetObjectVersionTagging' : 'GetObjectTagging', arn)];
    if (q.has('acl')) return [ask(version ? 'GetObjectVersionAcl' : 'GetObjectAcl', arn)];
    return [ask(version ? 'GetObjectVersion' : 'GetObject', arn)];
  }
  if (method === 'PUT') {
    if (q.has('tagging')) return [ask('PutObjectTagging', arn)];
    if (q.has('acl')) return [ask('PutObjectAcl', arn)];
    const out = [ask('PutObject', arn)];
    const source = header(req, 'x-amz-copy-source');
    const from = source ? copySource(source) : undefined;
    if (from)
      out.push(ask(from.version ? 'GetObjectVersion' : 'GetObject', s3Arn(from.bucket, from.key)));
    return out;
  }
  if (method === 'POST') {
    if (q.has('uploads') || q.has('uploadId')) return [ask('PutObject', arn)];
    if (q.has('restore')) return [ask('RestoreObject', arn)];
    return [ask(`POST${q.has('select') ? 'SelectObjectContent' : 'Object'}`, arn)];
  }
  if (method === 'DELETE') {
    if (q.has('uploadId')) return [ask('AbortMultipartUpload', arn)];
    if (q.has('tagging')) return [ask('DeleteObjectTagging', arn)];
    return [ask(version ? 'DeleteObjectVersion' : 'DeleteObject', arn)];
  }
  return [ask(`${method}Object`, arn)];
}

/**
 * A read of an object (GET or HEAD) also asks `s3:ListBucket` on its bucket, but only when the
 * object is not there: S3 answers 404 NoSuchKey to a caller allowed to list the bucket and 403
 * AccessDenied to one that is not, so as not to tell it what the bucket holds.
 */
export function listingForMissing(req: RequestLine): Authorization | undefined {
  const method = req.method.toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  const url = new URL(req.url, 'http://local');
  if (url.searchParams.has('uploadId')) return undefined;
  const path = url.pathname.replace(/^\//, '');
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) return undefined;
  return { action: 's3:ListBucket', resource: s3Arn(decodeURIComponent(path.slice(0, slash))) };
}

// ---------------------------------------------------------------------------------------------
// JSON and query protocols

/** The operation and parameters of a JSON (`x-amz-target`) or query (form `Action=`) request. */
function callOf(req: RequestLine, body: string): { op: string; params: Record<string, unknown> } {
  const target = header(req, 'x-amz-target');
  if (target) {
    let params: Record<string, unknown> = {};
    try {
      params = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    } catch {
      // A body that is not JSON: the emulator refuses it; IAM asks on the operation alone.
    }
    return { op: target.split('.').at(-1) ?? '', params };
  }
  const form = new URLSearchParams(body);
  const query = new URL(req.url, 'http://local').searchParams;
  const params: Record<string, unknown> = {};
  for (const source of [query, form]) for (const [k, v] of source) params[k] = v;
  return { op: String(params.Action ?? ''), params };
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

type AttributeValue = { S?: string; N?: string; B?: string };
type Item = Record<string, AttributeValue> | undefined;

function dynamodbAuthorizations(
  req: RequestLine,
  body: string,
  facts: RequestFacts,
): Authorization[] {
  const { op, params } = callOf(req, body);
  const tableArn = (table: string, index?: string) =>
    `arn:aws:dynamodb:${facts.region}:${facts.accountId}:table/${table}${index ? `/index/${index}` : ''}`;
  /** The partition-key value of an item or key, for `dynamodb:LeadingKeys`. */
  const leading = (table: string, item: Item, index?: string): string[] => {
    const name = facts.partitionKey(table, index);
    const v = name ? item?.[name] : undefined;
    const value = v?.S ?? v?.N ?? v?.B;
    return value === undefined ? [] : [value];
  };
  const ask = (
    action: string,
    table: string,
    keys: string[] | undefined,
    index?: string,
  ): Authorization => ({
    action: `dynamodb:${action}`,
    resource: tableArn(table, index),
    ...(keys ? { context: { 'dynamodb:leadingkeys': keys } } : {}),
  });
  const table = str(params.TableName);
  switch (op) {
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return table ? [ask(op, table, leading(table, params.Key as Item))] : [];
    case 'PutItem':
      return table ? [ask(op, table, leading(table, params.Item as Item))] : [];
    case 'Query': {
      if (!table) return [];
      const index = str(params.IndexName);
      const name = facts.partitionKey(table, index);
      return [ask(op, table, queryLeadingKeys(params, name), index)];
    }
    case 'Scan':
      return table ? [ask(op, table, undefined, str(params.IndexName))] : [];
    case 'BatchGetItem':
      return Object.entries((params.RequestItems ?? {}) as Record<string, { Keys?: Item[] }>).map(
        ([t, r]) =>
          ask(
            op,
            t,
            (r.Keys ?? []).flatMap((k) => leading(t, k)),
          ),
      );
    case 'BatchWriteItem':
      return Object.entries((params.RequestItems ?? {}) as Record<string, unknown[]>).map(
        ([t, writes]) =>
          ask(
            op,
            t,
            (
              writes as Array<{ PutRequest?: { Item?: Item }; DeleteRequest?: { Key?: Item } }>
            ).flatMap((w) => leading(t, w.PutRequest?.Item ?? w.DeleteRequest?.Key)),
          ),
      );
    case 'TransactWriteItems':
    case 'TransactGetItems': {
      const actions: Record<string, string> = {
        Put: 'PutItem',
        Update: 'UpdateItem',
        Delete: 'DeleteItem',
        ConditionCheck: 'ConditionCheckItem',
        Get: 'GetItem',
      };
      return (
        (params.TransactItems ?? []) as Array<
          Record<string, { TableName?: string; Key?: Item; Item?: Item }>
        >
      ).flatMap((entry) =>
        Object.entries(entry).flatMap(([kind, spec]) => {
          const action = actions[kind];
          const t = spec?.TableName;
          return action && t ? [ask(action, t, leading(t, spec.Key ?? spec.Item))] : [];
        }),
      );
    }
    default:
      return [
        {
          action: `dynamodb:${op}`,
          resource: table ? tableArn(table) : '*',
        },
      ];
  }
}

/** The partition-key value a Query's key condition fixes (`#pk = :v`, either way round). */
function queryLeadingKeys(
  params: Record<string, unknown>,
  partitionKey: string | undefined,
): string[] {
  const expression = str(params.KeyConditionExpression);
  if (!expression || !partitionKey) return [];
  const names = (params.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (params.ExpressionAttributeValues ?? {}) as Record<string, AttributeValue>;
  const nameOf = (token: string) => (token.startsWith('#') ? names[token] : token);
  for (const m of expression.matchAll(/([#:]?[\w.-]+)\s*=\s*([#:]?[\w.-]+)/g)) {
    const [left, right] = [m[1] as string, m[2] as string];
    const [attr, placeholder] = right.startsWith(':') ? [left, right] : [right, left];
    if (nameOf(attr) !== partitionKey || !placeholder.startsWith(':')) continue;
    const v = values[placeholder];
    const value = v?.S ?? v?.N ?? v?.B;
    return value === undefined ? [] : [value];
  }
  return [];
}

/** `http://host/000000000000/name` to the queue's ARN. */
function queueArn(url: string | undefined, facts: RequestFacts): string {
  if (!url) return '*';
  const parts = new URL(url, 'http://local').pathname.split('/').filter(Boolean);
  const [account, name] = parts.length >= 2 ? parts.slice(-2) : [facts.accountId, parts[0]];
  return `arn:aws:sqs:${facts.region}:${account}:${name}`;
}

const SQS_BATCH: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

function sqsAuthorizations(req: RequestLine, body: string, facts: RequestFacts): Authorization[] {
  const { op, params } = callOf(req, body);
  const action = `sqs:${SQS_BATCH[op] ?? op}`;
  if (op === 'ListQueues') return [{ action, resource: '*' }];
  const name = str(params.QueueName);
  if ((op === 'CreateQueue' || op === 'GetQueueUrl') && name)
    return [{ action, resource: `arn:aws:sqs:${facts.region}:${facts.accountId}:${name}` }];
  return [{ action, resource: queueArn(str(params.QueueUrl), facts) }];
}

function snsAuthorizations(req: RequestLine, body: string, facts: RequestFacts): Authorization[] {
  const { op, params } = callOf(req, body);
  const action = `sns:${op === 'PublishBatch' ? 'Publish' : op}`;
  const topic = str(params.TopicArn) ?? str(params.TargetArn);
  if (topic) return [{ action, resource: topic }];
  const subscription = str(params.SubscriptionArn);
  // A subscription's ARN is its topic's followed by `:<id>`; IAM asks on the topic.
  if (subscription)
    return [{ action, resource: subscription.slice(0, subscription.lastIndexOf(':')) }];
  const name = str(params.Name);
  if (op === 'CreateTopic' && name)
    return [{ action, resource: `arn:aws:sns:${facts.region}:${facts.accountId}:${name}` }];
  return [{ action, resource: '*' }];
}

function statesAuthorizations(req: RequestLine, body: string): Authorization[] {
  const { op, params } = callOf(req, body);
  const resource =
    str(params.executionArn) ?? str(params.stateMachineArn) ?? str(params.mapRunArn) ?? '*';
  return [{ action: `states:${op}`, resource }];
}

function secretsAuthorizations(
  req: RequestLine,
  body: string,
  facts: RequestFacts,
): Authorization[] {
  const { op, params } = callOf(req, body);
  const id = str(params.SecretId) ?? str(params.Name);
  if (!id || op === 'ListSecrets') return [{ action: `secretsmanager:${op}`, resource: '*' }];
  const arn =
    facts.secretArn(id) ??
    (id.startsWith('arn:')
      ? id
      : `arn:aws:secretsmanager:${facts.region}:${facts.accountId}:secret:${id}`);
  return [{ action: `secretsmanager:${op}`, resource: arn }];
}

function lambdaAuthorizations(req: RequestLine, facts: RequestFacts): Authorization[] {
  const path = new URL(req.url, 'http://local').pathname;
  const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
  if (!m) return [{ action: `lambda:${req.method}`, resource: '*' }];
  const name = decodeURIComponent(m[1] as string);
  const resource = name.startsWith('arn:')
    ? name
    : `arn:aws:lambda:${facts.region}:${facts.accountId}:function:${name}`;
  return [{ action: 'lambda:InvokeFunction', resource }];
}

/** Everything `req` asks IAM; every one must be allowed for the request to be. */
export function authorizationsOf(
  service: ScopeService,
  req: RequestLine,
  body: string | undefined,
  facts: RequestFacts,
): Authorization[] {
  switch (service) {
    case 's3':
      return s3Authorizations(req, body);
    case 'dynamodb':
      return dynamodbAuthorizations(req, body ?? '', facts);
    case 'sqs':
      return sqsAuthorizations(req, body ?? '', facts);
    case 'sns':
      return snsAuthorizations(req, body ?? '', facts);
    case 'states':
      return statesAuthorizations(req, body ?? '');
    case 'secretsmanager':
      return secretsAuthorizations(req, body ?? '', facts);
    case 'lambda':
      return lambdaAuthorizations(req, facts);
  }
}
