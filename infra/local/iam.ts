/**
 * IAM on the local cloud: each function signs its calls with a key of its own role
 * (`local-role.<RoleLogicalId>`, given as `AWS_ACCESS_KEY_ID`), and a layer in front of every
 * emulator checks what each call asks against that role's policies from serverless.yml, as
 * IAM does on AWS. A call its role does not allow is refused in the service's own shape
 * (S3 403 AccessDenied, DynamoDB 400 AccessDeniedException, SNS 403 AuthorizationError, ...)
 * with AWS's message, and logged, so a missing permission shows here and not first in a deploy.
 *
 * The SQS pollers (Lambda's event source mappings) receive and delete with the function's role,
 * as on AWS. Calls with any other key (the CLI's, the tests', the cloud's own) are the account
 * owner's and pass. Signatures are not verified, except a presigned URL's (s3-presigned.ts).
 * Resource policies (bucket, topic and queue policies) are not evaluated; the banner says so.
 * `DSN_IAM=off` turns the checks off.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  type Authorization,
  decide,
  type PolicyStatement,
  parsePolicyDocument,
} from './iam-policy.ts';
import {
  authorizationsOf,
  credentialOf,
  listingForMissing,
  needsBody,
  type RequestFacts,
  type ScopeService,
} from './iam-requests.ts';
import { interpose, type RequestListener, replay } from './interpose.ts';
import { type IntrinsicContext, IntrinsicError, resolveIntrinsics } from './intrinsics.ts';
import { escapeXml } from './s3-http.ts';
import type { ResolvedService } from './service.ts';
import { isRecord, ServiceConfigError } from './service-config-error.ts';

/** The access keys the local cloud gives its functions: one per role. */
export const ROLE_KEY_PREFIX = 'local-role.';
/** Every role key's secret (presigned URLs are checked with it). */
export const ROLE_SECRET = 'local';

export function roleAccessKey(roleId: string): string {
  return `${ROLE_KEY_PREFIX}${roleId}`;
}

export interface IamDenial {
  at: string;
  role: string;
  action: string;
  resource: string;
  /** The Deny statement that refused it, when one did (else no Allow matched). */
  statement?: string;
}

interface Role {
  id: string;
  /** Its `RoleName`, as the denial message names it. */
  name: string;
  statements: PolicyStatement[];
}

/** At most this many denials are kept for `denials()`; the count goes on. */
const KEPT_DENIALS = 200;

export interface LocalIamOptions {
  enforce: boolean;
  accountId: string;
  log: (line: string) => void;
  secretArn: (id: string) => string | undefined;
}

export class LocalIam {
  readonly enforce: boolean;
  private readonly opts: LocalIamOptions;
  private roles = new Map<string, Role>();
  private partitionKeys = new Map<string, string>();
  private region = 'us-east-1';
  private readonly kept: IamDenial[] = [];
  private count = 0;
  /** Role resources that resolved to nothing locally, for the banner. */
  readonly unresolved: string[] = [];

  constructor(opts: LocalIamOptions) {
    this.opts = opts;
    this.enforce = opts.enforce;
  }

  /** Reads the roles' policies and the tables' keys, once the stack's resources are known. */
  configure(service: ResolvedService, ctx: IntrinsicContext): void {
    const roles = new Map<string, Role>();
    for (const fn of service.functions) {
      if (fn.role === undefined || roles.has(fn.role)) continue;
      const resource = service.resources[fn.role];
      if (resource?.Type !== 'AWS::IAM::Role')
        throw new ServiceConfigError(
          `functions.${fn.key}.role`,
          `names "${fn.role}", which is not an AWS::IAM::Role of the stack`,
        );
      roles.set(fn.role, this.roleOf(fn.role, service, ctx));
    }
    const keys = new Map<string, string>();
    for (const [id, r] of Object.entries(service.resources)) {
      if (r.Type !== 'AWS::DynamoDB::Table') continue;
      const table = ctx.lookup(id)?.ref;
      if (!table) continue;
      const hash = (schema: unknown) =>
        (Array.isArray(schema) ? schema : []).find(
          (k: { KeyType?: string }) => k?.KeyType === 'HASH',
        )?.AttributeName as string | undefined;
      const own = hash(r.Properties?.KeySchema);
      if (own) keys.set(table, own);
      for (const index of [
        ...((r.Properties?.GlobalSecondaryIndexes as unknown[]) ?? []),
        ...((r.Properties?.LocalSecondaryIndexes as unknown[]) ?? []),
      ]) {
        const ix = index as { IndexName?: string; KeySchema?: unknown };
        const indexHash = hash(ix.KeySchema);
        if (ix.IndexName && indexHash) keys.set(`${table}/${ix.IndexName}`, indexHash);
      }
    }
    this.roles = roles;
    this.partitionKeys = keys;
    this.region = service.region;
  }

  private roleOf(id: string, service: ResolvedService, ctx: IntrinsicContext): Role {
    const props = service.resources[id]?.Properties ?? {};
    const where = `resources.Resources.${id}.Properties`;
    const unresolved = (at: string, why: string) => this.unresolved.push(`${at} (${why})`);
    const statements: PolicyStatement[] = [];
    const policies = Array.isArray(props.Policies) ? props.Policies : [];
    policies.forEach((p: unknown, i) => {
      const doc = isRecord(p) ? p.PolicyDocument : undefined;
      statements.push(
        ...parsePolicyDocument(doc, ctx, `${where}.Policies[${i}].PolicyDocument`, unresolved),
      );
    });
    // Policies attached from outside the role (AWS::IAM::Policy with `Roles: [!Ref <id>]`).
    for (const [pid, r] of Object.entries(service.resources)) {
      if (r.Type !== 'AWS::IAM::Policy') continue;
      const roles = Array.isArray(r.Properties?.Roles) ? r.Properties.Roles : [];
      if (!roles.some((x: unknown) => isRecord(x) && x.Ref === id)) continue;
      statements.push(
        ...parsePolicyDocument(
          r.Properties?.PolicyDocument,
          ctx,
          `resources.Resources.${pid}.Properties.PolicyDocument`,
          unresolved,
        ),
      );
    }
    if (Array.isArray(props.ManagedPolicyArns) && props.ManagedPolicyArns.length > 0)
      this.unresolved.push(`${where}.ManagedPolicyArns (managed policies are not known locally)`);
    let name = id;
    try {
      if (props.RoleName !== undefined) name = String(resolveIntrinsics(props.RoleName, ctx));
    } catch (err) {
      if (!(err instanceof IntrinsicError)) throw err;
    }
    return { id, name, statements };
  }

  /** The access key a function with role `roleId` signs with. */
  keyFor(roleId: string | undefined): string | undefined {
    return roleId === undefined ? undefined : roleAccessKey(roleId);
  }

  /** The secret of a key the local cloud gave out, for checking presigned URLs. */
  secretOf(accessKeyId: string): string | undefined {
    return accessKeyId.startsWith(ROLE_KEY_PREFIX) ? ROLE_SECRET : undefined;
  }

  /** Denials so far (the last 200), oldest first. */
  denials(): IamDenial[] {
    return [...this.kept];
  }

  get denied(): number {
    return this.count;
  }

  private facts(): RequestFacts {
    return {
      region: this.region,
      accountId: this.opts.accountId,
      partitionKey: (table, index) =>
        this.partitionKeys.get(index === undefined ? table : `${table}/${index}`),
      secretArn: this.opts.secretArn,
    };
  }

  /** What IAM answers the role behind `accessKeyId` for `asked`: the first refusal, if any. */
  check(role: Role, asked: Authorization[]): IamDenial | undefined {
    for (const a of asked) {
      const d = decide(role.statements, a);
      if (d.allowed) continue;
      return {
        at: new Date().toISOString(),
        role: role.name,
        action: a.action,
        resource: a.resource,
        ...(d.explicit && d.statement ? { statement: d.statement } : {}),
      };
    }
    return undefined;
  }

  private record(denial: IamDenial): void {
    this.count++;
    this.kept.push(denial);
    if (this.kept.length > KEPT_DENIALS) this.kept.shift();
    this.opts.log(
      `IAM denied ${denial.role}: ${denial.action} on ${denial.resource}${denial.statement ? ` (explicit deny at ${denial.statement})` : ' (no statement of serverless.yml allows it)'}`,
    );
  }

  private message(role: Role, denial: IamDenial): string {
    const who = `arn:aws:sts::${this.opts.accountId}:assumed-role/${role.name}/local`;
    const why = denial.statement
      ? `with an explicit deny in an identity-based policy`
      : `because no identity-based policy allows the ${denial.action} action`;
    return `User: ${who} is not authorized to perform: ${denial.action} on resource: ${denial.resource} ${why}`;
  }

  /** Puts the checks in front of a server that answers `services`. */
  install(server: Server, services: readonly ScopeService[]): void {
    interpose(server, (req, res, pass: RequestListener) => {
      const credential = this.enforce ? credentialOf(reqLine(req)) : undefined;
      const role = credential?.accessKeyId.startsWith(ROLE_KEY_PREFIX)
        ? this.roles.get(credential.accessKeyId.slice(ROLE_KEY_PREFIX.length))
        : undefined;
      const service = credential?.service as ScopeService | undefined;
      if (!role || !service || !services.includes(service)) return pass(req, res);
      const judge = (body: Buffer | undefined) => {
        let asked: Authorization[];
        let listing: Authorization | undefined;
        try {
          asked = authorizationsOf(service, reqLine(req), body?.toString('utf8'), this.facts());
          listing = service === 's3' ? listingForMissing(reqLine(req)) : undefined;
        } catch (err) {
          // A request too malformed to say what it asks (a bad percent escape, a null where a
          // map goes): the emulator refuses it in its own words.
          this.opts.log(`IAM could not read a request of ${role.name}: ${(err as Error).message}`);
          return pass(body === undefined ? req : replay(req, body), res);
        }
        const denial = this.check(role, asked);
        if (!denial) {
          const unlisted = listing ? this.check(role, [listing]) : undefined;
          if (unlisted)
            hideMissing(res, () => {
              this.record(unlisted);
              return refusalFor('s3', this.message(role, unlisted));
            });
          return pass(body === undefined ? req : replay(req, body), res);
        }
        this.record(denial);
        sendDenied(service, req, res, this.message(role, denial));
      };
      if (!needsBody(service, reqLine(req))) return judge(undefined);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', () => res.destroy());
      req.on('end', () => judge(Buffer.concat(chunks)));
    });
  }
}

function reqLine(req: IncomingMessage) {
  return { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
}

interface Refusal {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
}

/** A refusal in the shape each service's clients read. */
function refusalFor(service: ScopeService, message: string): Refusal {
  const json = (status: number, body: object, headers: Record<string, string>) => ({
    status,
    type: 'application/x-amz-json-1.0',
    body: JSON.stringify(body),
    headers,
  });
  const coral = { __type: 'com.amazon.coral.service#AccessDeniedException', message };
  switch (service) {
    case 's3':
      return {
        status: 403,
        type: 'application/xml',
        body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${escapeXml(message)}</Message></Error>`,
      };
    case 'sns':
      return {
        status: 403,
        type: 'text/xml',
        body: `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>${escapeXml(message)}</Message></Error><RequestId>local</RequestId></ErrorResponse>`,
      };
    case 'sqs':
      return json(403, coral, { 'x-amzn-query-error': 'AccessDenied;Sender' });
    case 'lambda':
      return {
        status: 403,
        type: 'application/json',
        body: JSON.stringify({ Type: 'User', message }),
        headers: { 'x-amzn-errortype': 'AccessDeniedException' },
      };
    default:
      // DynamoDB, Step Functions and Secrets Manager: 400 AccessDeniedException.
      return json(400, coral, { 'x-amzn-errortype': 'AccessDeniedException' });
  }
}

/**
 * Turns the emulator's 404 NoSuchKey into `refusal()`'s answer (S3's 403 to a caller that may not
 * list the bucket); any other answer (a NoSuchBucket 404 too) goes out as it was. A HEAD's 404
 * has no body to tell them apart and is taken for a missing key. The CORS headers set by the
 * layer outside stay, as S3 puts them on its errors too.
 */
function hideMissing(res: ServerResponse, refusal: () => Refusal): void {
  const { writeHead, write, end } = res;
  const call = (fn: unknown, self: ServerResponse, args: unknown[]) =>
    (fn as (...a: unknown[]) => unknown).apply(self, args);
  /** The arguments of a 404's writeHead, held back until its body shows what is missing. */
  let held: unknown[] | undefined;
  const chunks: Buffer[] = [];
  const holding = (self: ServerResponse) => {
    if (held === undefined && !self.headersSent && self.statusCode === 404) held = [404];
    return held !== undefined;
  };
  const keep = (chunk: unknown) => {
    if (typeof chunk === 'string') chunks.push(Buffer.from(chunk));
    else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (args[0] === 404) {
      held = args;
      return this;
    }
    return call(writeHead, this, args);
  } as ServerResponse['writeHead'];
  res.write = function (this: ServerResponse, ...args: unknown[]) {
    if (!holding(this)) return call(write, this, args);
    keep(args[0]);
    return true;
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    if (!holding(this)) return call(end, this, args);
    if (typeof args[0] !== 'function') keep(args[0]);
    const body = Buffer.concat(chunks);
    const head = this.req?.method === 'HEAD';
    if (!head && !body.toString('utf8').includes('<Code>NoSuchKey</Code>')) {
      call(writeHead, this, held ?? [404]);
      return call(end, this, [body]);
    }
    const r = refusal();
    for (const name of this.getHeaderNames())
      if (!name.startsWith('access-control-') && name !== 'vary') this.removeHeader(name);
    call(writeHead, this, [
      r.status,
      { 'content-type': r.type, 'content-length': Buffer.byteLength(r.body), ...r.headers },
    ]);
    // A HEAD's answer has no body, whatever its length says.
    return call(end, this, head ? [] : [r.body]);
  } as ServerResponse['end'];
}

function sendDenied(
  service: ScopeService,
  req: IncomingMessage,
  res: ServerResponse,
  message: string,
): void {
  // The request's body may still be coming (an S3 PUT): it is drained, not answered into.
  req.resume();
  const r = refusalFor(service, message);
  res.writeHead(r.status, {
    'content-type': r.type,
    'content-length': Buffer.byteLength(r.body),
    ...r.headers,
  });
  res.end(r.body);
}
