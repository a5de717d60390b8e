/**
 * The subset of CloudFormation intrinsic functions the local cloud resolves: `Ref`,
 * `Fn::GetAtt`, `Fn::Sub` and `Fn::Join`, plus the pseudo parameters. serverless.yml keeps to
 * this subset so that the same file drives AWS and the local cloud; anything else is an error
 * that names the path where it appears, rather than a value silently passed through.
 */

/** What a resource or function exposes to `Ref` and `Fn::GetAtt`. */
export interface ResolvedResource {
  ref: string;
  attributes: Record<string, string>;
}

export interface IntrinsicContext {
  region: string;
  accountId: string;
  stackName: string;
  /** Logical id (or function key) to what it resolves to. */
  lookup(logicalId: string): ResolvedResource | undefined;
}

export class IntrinsicError extends Error {
  override name = 'IntrinsicError';
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

function pseudo(name: string, ctx: IntrinsicContext): string | undefined {
  switch (name) {
    case 'AWS::Region':
      return ctx.region;
    case 'AWS::AccountId':
      return ctx.accountId;
    case 'AWS::StackName':
      return ctx.stackName;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::NoValue':
      return undefined;
    default:
      return undefined;
  }
}

function resolveRef(name: string, ctx: IntrinsicContext, path: string): string {
  const p = pseudo(name, ctx);
  if (p !== undefined) return p;
  const res = ctx.lookup(name);
  if (!res) throw new IntrinsicError(path, `Ref to unknown resource "${name}"`);
  return res.ref;
}

function resolveGetAtt(target: unknown, ctx: IntrinsicContext, path: string): string {
  const [logicalId, attribute] = Array.isArray(target)
    ? target
    : typeof target === 'string'
      ? target.split('.', 2)
      : [];
  if (typeof logicalId !== 'string' || typeof attribute !== 'string') {
    throw new IntrinsicError(path, 'Fn::GetAtt needs [LogicalId, Attribute]');
  }
  const res = ctx.lookup(logicalId);
  if (!res) throw new IntrinsicError(path, `Fn::GetAtt on unknown resource "${logicalId}"`);
  const value = res.attributes[attribute];
  if (value === undefined) {
    throw new IntrinsicError(
      path,
      `Fn::GetAtt: "${logicalId}" has no attribute "${attribute}" locally (known: ${Object.keys(res.attributes).join(', ')})`,
    );
  }
  return value;
}

function resolveSub(arg: unknown, ctx: IntrinsicContext, path: string): string {
  const [template, vars] = Array.isArray(arg) ? arg : [arg, {}];
  if (typeof template !== 'string') throw new IntrinsicError(path, 'Fn::Sub needs a string');
  const locals = resolveIntrinsics(vars ?? {}, ctx, `${path}.Fn::Sub[1]`) as Record<
    string,
    unknown
  >;
  return template.replace(/\$\{([^}!][^}]*)\}/g, (_, expr: string) => {
    if (expr in locals) return String(locals[expr]);
    if (expr.includes('.') && !expr.startsWith('AWS::')) {
      return resolveGetAtt(expr, ctx, path);
    }
    return resolveRef(expr, ctx, path);
  });
}

/**
 * Returns a copy of `value` with every supported intrinsic replaced by its local value.
 * @throws IntrinsicError naming the JSON path of an unknown reference or unsupported function.
 */
export function resolveIntrinsics(value: unknown, ctx: IntrinsicContext, path = '$'): unknown {
  if (Array.isArray(value)) return value.map((v, i) => resolveIntrinsics(v, ctx, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [fn, arg] = entries[0] as [string, unknown];
    const here = `${path}.${fn}`;
    switch (fn) {
      case 'Ref':
        return resolveRef(String(arg), ctx, here);
      case 'Fn::GetAtt':
        return resolveGetAtt(arg, ctx, here);
      case 'Fn::Sub':
        return resolveSub(arg, ctx, here);
      case 'Fn::Join': {
        const [sep, parts] = Array.isArray(arg) ? arg : [];
        const list = resolveIntrinsics(parts, ctx, here);
        if (typeof sep !== 'string' || !Array.isArray(list)) {
          throw new IntrinsicError(here, 'Fn::Join needs [separator, [values]]');
        }
        return list.join(sep);
      }
      default:
        if (fn.startsWith('Fn::') || fn === 'Condition') {
          throw new IntrinsicError(here, `${fn} is not supported by the local cloud`);
        }
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) out[k] = resolveIntrinsics(v, ctx, `${path}.${k}`);
  return out;
}
