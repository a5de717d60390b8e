/**
 * Every failure a caller can act on, as a named class under one base. Each message names the
 * rule broken and the value seen; the HTTP layer maps classes to status codes in one place
 * (functions/http-errors.ts).
 */

/** Base of every domain error: `name` is the class name and context fields ride along. */
export class DsnError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request parameter breaks a rule; `field` names it. */
export class InvalidParameterError extends DsnError {
  readonly field: string;
  constructor(field: string, rule: string, options?: { cause?: unknown }) {
    super(`${field}: ${rule}`, options);
    this.field = field;
  }
}

/** A vault with this name already exists. */
export class VaultExistsError extends DsnError {
  readonly vault: string;
  constructor(vault: string) {
    super(`vault "${vault}" already exists`);
    this.vault = vault;
  }
}

/** No vault with this name. */
export class VaultNotFoundError extends DsnError {
  readonly vault: string;
  constructor(vault: string) {
    super(`vault "${vault}" does not exist`);
    this.vault = vault;
  }
}

/** A storage unit's bucket has no object at the key. */
export class SliceNotFoundError extends DsnError {
  readonly unit: number;
  readonly key: string;
  constructor(unit: number, key: string, options?: { cause?: unknown }) {
    super(`unit ${unit} has no slice at ${key}`, options);
    this.unit = unit;
    this.key = key;
  }
}

/** Fewer than `k` shards (slices) of a segment are present: it cannot be rebuilt. */
export class TooFewShardsError extends DsnError {
  readonly present: number;
  readonly needed: number;
  constructor(present: number, needed: number) {
    super(`only ${present} shards present, ${needed} needed to reconstruct`);
    this.present = present;
    this.needed = needed;
  }
}

/** A slice name string that does not parse; `rule` says which part is wrong. */
export class InvalidSliceNameError extends DsnError {
  readonly value: string;
  constructor(value: string, rule: string) {
    super(`invalid slice name "${value.slice(0, 200)}": ${rule}`);
    this.value = value;
  }
}

/** Why a stored slice was refused. */
export type SliceDefect = 'truncated' | 'foreign' | 'version' | 'corrupt';

/** Slice bytes that must not be used: cut short, not ours, or failing their checksum. */
export class InvalidSliceError extends DsnError {
  readonly defect: SliceDefect;
  readonly sliceName?: string;
  constructor(defect: SliceDefect, detail: string, sliceName?: string) {
    super(`${defect} slice${sliceName ? ` ${sliceName}` : ''}: ${detail}`);
    this.defect = defect;
    this.sliceName = sliceName;
  }
}
