/**
 * Parsers for the text of arguments and option values. Commander's parsers throw
 * InvalidArgumentError, which it reports as a usage error naming the option; `target` runs in
 * a command's body and throws UsageError, so the error line names the command.
 */
import { InvalidArgumentError } from 'commander';
import { UsageError } from '../errors.ts';

/** Splits `VAULT/KEY` at its first slash. @throws UsageError */
export function target(text: string): { vault: string; key: string } {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) {
    throw new UsageError(`expected VAULT/KEY, got "${text}"`);
  }
  const key = text.slice(slash + 1);
  // A URL resolves such segments (`a/../b` is `b`), so the request would name another key.
  const dots = key.split('/').find((segment) => segment === '.' || segment === '..');
  if (dots !== undefined)
    throw new UsageError(`a key must not contain "${dots}" path segments, got "${key}"`);
  return { vault: text.slice(0, slash), key };
}

/** A parser of whole numbers from `min` to `max`. */
export function integer(min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer ${min}..${max}`);
    }
    return n;
  };
}

/** `4096`, `64KiB`, `4MiB`, `4M`. */
export function size(value: string): number {
  const m = /^(\d+)\s*(|b|k|kib|kb|m|mib|mb)$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be a size like 65536, 64KiB or 4MiB');
  const unit = (m[2] ?? '').toLowerCase();
  const scale = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1;
  return Number(m[1]) * scale;
}

/** `0,1,2`: unit numbers. */
export function unitList(value: string): number[] {
  const units = value.split(',').map((s) => Number(s.trim()));
  if (units.some((u) => !Number.isInteger(u) || u < 0)) {
    throw new InvalidArgumentError('must be unit numbers separated by commas, like 0,1,2');
  }
  return units;
}
