/**
 * Validation of what comes from outside (HTTP bodies, queue messages) with zod schemas, and the
 * one way a failure is reported: an `InvalidParameterError` whose `field` is the path of the
 * first bad value (`units[2]`, `message.slices[0].crc32`, or the subject itself, `body`) and
 * whose rule says what was expected and what was seen. Schemas live next to their nouns; this
 * file has the helpers they share.
 */
import { z } from 'zod';
import { stringOf } from './describe-error.ts';
import { InvalidParameterError } from './errors.ts';

/** How a subject is named in errors. */
export interface Subject {
  /** The subject's own name, the field of a rule about it whole: `body`, `message`, `vault`. */
  name?: string;
  /**
   * Name fields under the subject (`message.slices[0].crc32`) rather than alone (`units[2]`).
   * A client knows the fields of the body it sent by their own names; a queue message's
   * fields are read in a log, where the subject says which message it was.
   */
  qualified?: boolean;
}

const PREVIEW_CHARS = 80;

/** A value as an error shows it: its JSON, cut short; never throws. */
export function preview(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON would say null: a path parameter that is not a number arrives as NaN.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? stringOf(value);
  } catch {
    // A BigInt or a cycle: not from JSON, but a caller may pass anything.
    text = stringOf(value);
  }
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

type Path = ReadonlyArray<PropertyKey>;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `["slices", 0, "crc32"]` as `slices[0].crc32`, under `name` when qualified. */
function fieldOf(path: Path, subject: Required<Subject>): string {
  let field = subject.qualified || path.length === 0 ? subject.name : '';
  for (const key of path) {
    if (typeof key === 'number') field += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) field += field ? `.${key}` : key;
    else field += `[${JSON.stringify(String(key))}]`;
  }
  return field;
}

/** The value at `path` in `input`, as far as it goes (own properties only). */
function valueAt(input: unknown, path: Path): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

const TYPE_RULES: Record<string, string> = {
  string: 'must be a string',
  number: 'must be a number',
  int: 'must be an integer',
  boolean: 'must be true or false',
  object: 'must be a JSON object',
  array: 'must be a list',
};

/**
 * The house wording for issues whose schema says nothing of its own: what is expected, in
 * words a client reads ("must be a list"), not zod's ("expected array").
 */
const houseRules: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return TYPE_RULES[issue.expected] ?? `must be ${issue.expected}`;
    case 'unrecognized_keys':
      return 'is not a known field';
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => preview(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string') return `must be at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return `must list at least ${issue.minimum}`;
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must list at most ${issue.maximum}`;
      return `must be at most ${issue.maximum}`;
    default:
      return undefined;
  }
};

/**
 * The error for the first issue: an unknown key first of all, since a misspelt field also
 * makes the field it meant look missing, and the misspelling is the thing to fix. The rule is
 * followed by the value seen unless it names it already (it says "got", or ends with it).
 */
function errorOf(
  issues: ReadonlyArray<z.core.$ZodIssue>,
  input: unknown,
  subject: Required<Subject>,
): InvalidParameterError {
  const issue =
    issues.find((i) => i.code === 'unrecognized_keys') ?? (issues[0] as z.core.$ZodIssue);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] as string;
    const others = issue.keys.slice(1).map((k) => JSON.stringify(k));
    const more =
      others.length === 0 ? '' : `; nor ${others.length > 1 ? 'are' : 'is'} ${others.join(', ')}`;
    return new InvalidParameterError(
      fieldOf([...issue.path, key], subject),
      `${issue.message}${more}`,
    );
  }
  const seen = preview(valueAt(input, issue.path));
  const named = /\bgot\b/.test(issue.message) || issue.message.endsWith(` ${seen}`);
  const rule = named ? issue.message : `${issue.message}, got ${seen}`;
  return new InvalidParameterError(fieldOf(issue.path, subject), rule);
}

/**
 * `value` checked against `schema`, as the schema's output.
 * @throws InvalidParameterError naming the first bad field (see `Subject`) and its rule.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  subject: Subject = {},
): z.output<S> {
  const named = { name: subject.name ?? 'body', qualified: subject.qualified ?? false };
  const result = schema.safeParse(value, { error: houseRules });
  if (!result.success) throw errorOf(result.error.issues, value, named);
  return result.data;
}

/** How a JSON text is named in errors, and what to say when it is not JSON. */
export interface JsonSubject extends Subject {
  /** The rule when the text does not parse; default `is not JSON`. */
  notJson?: string;
}

/**
 * `text` parsed as JSON and checked against `schema`: for queue bodies, which are parsed, never
 * cast. Defaults to naming the subject `message`, qualified.
 * @throws InvalidParameterError when the text is not JSON, nests too deep, or breaks a rule of
 * the schema.
 */
export function parseJsonWith<S extends z.ZodType>(
  schema: S,
  text: string,
  subject: JsonSubject = {},
): z.output<S> {
  const named = { name: subject.name ?? 'message', qualified: subject.qualified ?? true };
  return parseWith(schema, parseJson(text, named.name, subject.notJson), named);
}

/**
 * A JSON object that refuses keys it does not know. `what` completes "is not …" for an unknown
 * key (`a vault field`), which then lists the keys it does know.
 */
export function strictObject<const Shape extends z.ZodRawShape>(shape: Shape, what: string) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `is not ${what} (known: ${known})`;
      if (issue.code === 'invalid_type') return 'must be a JSON object';
      return undefined;
    },
  });
}

/**
 * An integer from `min` to `max`. The rule says both, unless `rule` words it for its field
 * (then that is the rule for any bad value).
 */
export function integer(min: number, max: number, rule?: string) {
  const range = rule ?? `must be between ${min} and ${max}`;
  const type = rule ?? 'must be an integer';
  return (
    z
      // Beyond the safe integers is out of range, whatever the type says.
      .int({ error: (issue) => (issue.code === 'invalid_type' ? type : range) })
      .min(min, range)
      .max(max, range)
  );
}

/**
 * An integer from `min` to `max` written as a path or query parameter: plain decimal digits,
 * nothing else. `Number` would also take `1e2`, `0x1`, ` 1` and `1.0`, so one value would have
 * many spellings; here it has one (and no leading zeros). The rule says the range unless `rule`
 * words it for its field.
 */
export function decimalInteger(min: number, max: number, rule?: string) {
  const range = rule ?? `must be an integer ${min}..${max}, in plain decimal digits`;
  // 15 digits stay within the safe integers, so the range check sees the exact value.
  return z
    .string({ error: range })
    .regex(/^(?:0|[1-9][0-9]{0,14})$/, range)
    .transform(Number)
    .pipe(integer(min, max, range));
}

/** How long an id in a path may be; generated ids are 26 characters or so. */
export const MAX_ID_CHARS = 128;

/**
 * An id the service generated (a revision, an upload), as a client sends it back: a bounded
 * run of letters, digits, `-` and `_`. Checked before any lookup, so a megabyte of junk never
 * reaches a database key (DynamoDB refuses keys past 2048 bytes with an error of its own); an
 * id of the right form that names nothing is still the caller's 404.
 */
export function resourceId(max = MAX_ID_CHARS) {
  const rule = `must be 1 to ${max} letters, digits, "-" or "_"`;
  return z.string({ error: rule }).regex(new RegExp(`^[A-Za-z0-9_-]{1,${max}}$`), rule);
}

/** How deep a JSON body may nest: the API's bodies nest two levels; 64 is room to spare. */
export const MAX_JSON_DEPTH = 64;

/**
 * How deep `text`, a JSON text that parsed, nests (`[]` is 1, `[[]]` 2, `1` 0), counted from its
 * characters without recursion, so it costs no stack whatever the depth. Stops counting past
 * `limit`: the caller only needs to know that it is too deep.
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character, a quote among them
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * `text` parsed as JSON, refused past `MAX_JSON_DEPTH` levels. `JSON.parse` itself takes any
 * depth, but whatever walks the value next (a schema, a log line, `JSON.stringify`) recurses,
 * and a body 20,000 deep would then overflow the stack far from where it came in.
 * @throws InvalidParameterError on `name` when the text is not JSON (rule `notJson`) or too deep.
 */
export function parseJson(text: string, name: string, notJson = 'is not JSON'): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidParameterError(name, `${notJson}, got ${preview(text)}`, { cause: err });
  }
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    throw new InvalidParameterError(name, `must nest at most ${MAX_JSON_DEPTH} deep`);
  return value;
}

/** A string with at least one character. */
export function nonEmptyString(rule = 'must be a non-empty string') {
  return z.string({ error: rule }).min(1, rule);
}
