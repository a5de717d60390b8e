/**
 * IAM identity policies as the local cloud evaluates them: the inline policies of the roles that
 * serverless.yml gives its functions, their intrinsics resolved to the local resources, and
 * AWS's evaluation logic for one role: an explicit Deny wins, else an Allow whose action,
 * resource and conditions all match, else an implicit deny.
 *
 * Hand-written: no maintained library evaluates IAM policies offline (AWS's own policy
 * simulator is a service). It covers what serverless.yml uses: Action / NotAction, Resource /
 * NotResource with `*` and `?`, and the string, ARN and Bool condition operators with their
 * `ForAllValues:` / `ForAnyValue:` set forms and `IfExists`. A policy using anything else
 * stops the start with an error naming where it is, rather than being evaluated wrong.
 */
import { type IntrinsicContext, IntrinsicError, resolveIntrinsics } from './intrinsics.ts';
import { ServiceConfigError } from './service-config-error.ts';

export interface PolicyCondition {
  /** The operator without its set prefix or `IfExists`: `StringLike`, `ArnEquals`, ... */
  operator: string;
  set?: 'ForAllValues' | 'ForAnyValue';
  ifExists: boolean;
  /** Lower-cased, as IAM compares condition keys. */
  key: string;
  values: string[];
}

export interface PolicyStatement {
  effect: 'Allow' | 'Deny';
  /** Patterns, lower-cased (actions compare without case). */
  actions: string[];
  notAction: boolean;
  resources: string[];
  notResource: boolean;
  conditions: PolicyCondition[];
  /** Where it is in serverless.yml, for messages. */
  where: string;
}

/** One thing a request asks IAM: may the caller do `action` on `resource`, in this context? */
export interface Authorization {
  action: string;
  resource: string;
  /** Condition keys (lower-cased) to their values for this request. */
  context?: Record<string, string[]>;
}

export type Decision =
  | { allowed: true }
  | { allowed: false; explicit: boolean; statement?: string };

const OPERATORS = new Set([
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Bool',
  'Null',
]);

/** A statement that applies to no request (its resources all unresolved). */
const NOTHING: Omit<PolicyStatement, 'where'> = {
  effect: 'Allow',
  actions: [],
  notAction: false,
  resources: [],
  notResource: false,
  conditions: [],
};

/** `*` any run of characters, `?` any one character; the rest literal. */
export function globMatches(pattern: string, value: string, ignoreCase = false): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const v = ignoreCase ? value.toLowerCase() : value;
  // Iterative wildcard match with one backtrack point: linear in practice, no regex building.
  let pi = 0;
  let vi = 0;
  let star = -1;
  let mark = 0;
  while (vi < v.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === v[vi])) {
      pi++;
      vi++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = vi;
    } else if (star !== -1) {
      pi = star + 1;
      vi = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

function asList(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value.flat(Infinity) : [value];
}

function strings(value: unknown, where: string): string[] {
  return asList(value).map((v, i) => {
    if (typeof v !== 'string' && typeof v !== 'boolean' && typeof v !== 'number')
      throw new ServiceConfigError(`${where}[${i}]`, 'must be a string');
    return String(v);
  });
}

function parseConditions(block: unknown, where: string): PolicyCondition[] {
  if (block === undefined) return [];
  if (block === null || typeof block !== 'object' || Array.isArray(block))
    throw new ServiceConfigError(where, 'must be a map of operators to { key: values }');
  const out: PolicyCondition[] = [];
  for (const [name, keys] of Object.entries(block)) {
    const m = /^(?:(ForAllValues|ForAnyValue):)?([A-Za-z]+?)(IfExists)?$/.exec(name);
    const operator = m?.[2] ?? '';
    if (!m || !OPERATORS.has(operator))
      throw new ServiceConfigError(
        `${where}.${name}`,
        `is a condition operator the local cloud does not evaluate (it knows ${[...OPERATORS].join(', ')}, with ForAllValues:/ForAnyValue: and IfExists)`,
      );
    if (keys === null || typeof keys !== 'object' || Array.isArray(keys))
      throw new ServiceConfigError(`${where}.${name}`, 'must be a map of condition keys to values');
    for (const [key, values] of Object.entries(keys)) {
      out.push({
        operator,
        ...(m[1] ? { set: m[1] as 'ForAllValues' | 'ForAnyValue' } : {}),
        ifExists: m[3] !== undefined,
        key: key.toLowerCase(),
        values: strings(values, `${where}.${name}.${key}`),
      });
    }
  }
  return out;
}

/**
 * The statements of one policy document, its intrinsics resolved. A resource that names
 * something the local cloud does not create (a KMS key, the root key's secret) resolves to
 * nothing and is reported through `unresolved`: it matches no local request.
 */
export function parsePolicyDocument(
  document: unknown,
  ctx: IntrinsicContext,
  where: string,
  unresolved: (where: string, why: string) => void,
): PolicyStatement[] {
  const doc = document as { Statement?: unknown } | undefined;
  return asList(doc?.Statement).map((raw, i) => {
    const at = `${where}.Statement[${i}]`;
    if (raw === null || typeof raw !== 'object')
      throw new ServiceConfigError(at, 'must be an object');
    const s = raw as Record<string, unknown>;
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny')
      throw new ServiceConfigError(`${at}.Effect`, 'must be Allow or Deny');
    if ((s.Action === undefined) === (s.NotAction === undefined))
      throw new ServiceConfigError(at, 'needs exactly one of Action and NotAction');
    if ((s.Resource === undefined) === (s.NotResource === undefined))
      throw new ServiceConfigError(at, 'needs exactly one of Resource and NotResource');
    const resourceField = s.Resource !== undefined ? 'Resource' : 'NotResource';
    const resources = asList(s[resourceField]).flatMap((r, j) => {
      try {
        return strings(resolveIntrinsics(r, ctx, `${at}.${resourceField}[${j}]`), at);
      } catch (err) {
        if (!(err instanceof IntrinsicError)) throw err;
        unresolved(`${at}.${resourceField}[${j}]`, err.message);
        return [];
      }
    });
    let condition: unknown;
    try {
      condition =
        s.Condition === undefined
          ? undefined
          : resolveIntrinsics(s.Condition, ctx, `${at}.Condition`);
    } catch (err) {
      if (!(err instanceof IntrinsicError)) throw err;
      // A condition on what is not created locally: the statement cannot match anything here.
      unresolved(`${at}.Condition`, err.message);
      return { ...NOTHING, where: at };
    }
    const conditions = parseConditions(condition, `${at}.Condition`);
    return {
      effect: s.Effect,
      actions: strings(s.Action ?? s.NotAction, `${at}.Action`).map((a) => a.toLowerCase()),
      notAction: s.Action === undefined,
      resources,
      notResource: s.Resource === undefined,
      conditions,
      where: at,
    };
  });
}

function valueMatches(operator: string, pattern: string, value: string): boolean {
  switch (operator) {
    case 'StringEquals':
    case 'StringNotEquals':
    case 'ArnEquals':
    case 'ArnNotEquals':
      // ARN operators compare segment by segment; with no wildcard that is plain equality.
      return operator.startsWith('Arn') ? globMatches(pattern, value) : pattern === value;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return pattern.toLowerCase() === value.toLowerCase();
    case 'Bool':
      return pattern.toLowerCase() === value.toLowerCase();
    default:
      return globMatches(pattern, value);
  }
}

const NEGATED = /Not/;

/** Whether one value satisfies the operator against the condition's values. */
function singleHolds(c: PolicyCondition, value: string): boolean {
  const any = c.values.some((p) => valueMatches(c.operator, p, value));
  return NEGATED.test(c.operator) ? !any : any;
}

export function conditionHolds(c: PolicyCondition, context: Record<string, string[]>): boolean {
  const values = context[c.key];
  if (c.operator === 'Null') {
    const absent = values === undefined || values.length === 0;
    return c.values.some((v) => (v.toLowerCase() === 'true') === absent);
  }
  const absent = values === undefined || values.length === 0;
  if (absent && c.ifExists) return true;
  if (c.set === 'ForAllValues') return (values ?? []).every((v) => singleHolds(c, v));
  if (c.set === 'ForAnyValue') return (values ?? []).some((v) => singleHolds(c, v));
  // A key the request lacks fails a positive operator and satisfies a negated one.
  if (absent) return NEGATED.test(c.operator);
  return values.some((v) => singleHolds(c, v));
}

function statementApplies(s: PolicyStatement, a: Authorization): boolean {
  const action = a.action.toLowerCase();
  const actionListed = s.actions.some((p) => globMatches(p, action));
  if (actionListed === s.notAction) return false;
  const resourceListed = s.resources.some((p) => globMatches(p, a.resource));
  if (resourceListed === s.notResource) return false;
  return s.conditions.every((c) => conditionHolds(c, a.context ?? {}));
}

/** AWS's evaluation for one identity: explicit deny, then allow, else implicit deny. */
export function decide(statements: readonly PolicyStatement[], a: Authorization): Decision {
  let allowed = false;
  for (const s of statements) {
    if (!statementApplies(s, a)) continue;
    if (s.effect === 'Deny') return { allowed: false, explicit: true, statement: s.where };
    allowed = true;
  }
  return allowed ? { allowed: true } : { allowed: false, explicit: false };
}
