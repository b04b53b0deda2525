import { ErrorCode, SlipwayError } from './errors.ts';

/**
 * Config vars: the rules a change obeys and the plan of one change, pure. A key is what a
 * process sees as an environment variable; `PORT` and `SLIPWAY_*` are set by the agent itself.
 * Values are secrets: nothing here puts one in an error message or its details.
 */

export const CONFIG_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_CONFIG_KEY_CHARS = 256;
/** Bytes of one value (UTF-8). */
export const MAX_CONFIG_VALUE_BYTES = 32 * 1024;
/** Vars of one environment. */
export const MAX_CONFIG_VARS = 500;
/** Bytes of all keys and values of one environment together (each version keeps them all). */
export const MAX_CONFIG_TOTAL_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/** Why a key is refused, or null when it is a good key. */
export function configKeyProblem(key: string): string | null {
  if (key.length === 0) return 'a key cannot be empty';
  if (key.length > MAX_CONFIG_KEY_CHARS) return `a key has at most ${MAX_CONFIG_KEY_CHARS} characters`;
  if (!CONFIG_KEY_PATTERN.test(key)) return 'a key is letters, digits and _, and does not start with a digit';
  if (key === '__proto__') return '__proto__ is reserved';
  if (key.toUpperCase() === 'PORT') return 'PORT is set by the agent (its --port)';
  if (key.toUpperCase().startsWith('SLIPWAY_')) return 'SLIPWAY_* variables are set by the agent';
  return null;
}

export function assertConfigKey(key: string): void {
  const problem = configKeyProblem(key);
  // The key is not secret; a key too long to show is cut.
  if (problem !== null) throw new SlipwayError(ErrorCode.CONFIG_INVALID_KEY, `${JSON.stringify(key.slice(0, 64))}: ${problem}`, { key: key.slice(0, MAX_CONFIG_KEY_CHARS) });
}

/** A value's problem, named without the value: null when it is fine. */
function valueProblem(key: string, value: string): SlipwayError | null {
  const bytes = utf8Bytes(value);
  if (bytes > MAX_CONFIG_VALUE_BYTES) {
    return new SlipwayError(ErrorCode.CONFIG_TOO_LARGE, `the value of ${key} is ${bytes} bytes; a value has at most ${MAX_CONFIG_VALUE_BYTES}`, {
      key,
      bytes,
      limit: MAX_CONFIG_VALUE_BYTES,
    });
  }
  // An environment variable cannot carry NUL: the process would see the value cut short.
  if (value.includes('\0')) return new SlipwayError(ErrorCode.INVALID_REQUEST, `the value of ${key} contains a NUL character, which an environment variable cannot hold`, { key });
  return null;
}

export interface ConfigEntry {
  value: string;
  version: number;
  at: string;
  by: string;
}

export interface ConfigChange {
  set: ReadonlyMap<string, string>;
  unset: readonly string[];
}

export interface ConfigPlan {
  /** Every var after the change; the keys set here carry `version`, the others what they had. */
  vars: Map<string, ConfigEntry>;
  /** Keys whose value is new or different, and keys removed — sorted. */
  set: string[];
  unset: string[];
  changed: boolean;
}

/**
 * The vars after `change`, or a refusal with a stable code (CONFIG_INVALID_KEY,
 * CONFIG_TOO_LARGE, INVALID_REQUEST) — checked in full before anything is planned, so a
 * refused change changes nothing. Setting a value a key has already, or unsetting a key that
 * is not there, is no change.
 */
export function planConfigChange(current: ReadonlyMap<string, ConfigEntry>, change: ConfigChange, stamp: { version: number; at: string; by: string }): ConfigPlan {
  if (change.set.size === 0 && change.unset.length === 0) throw new SlipwayError(ErrorCode.INVALID_REQUEST, 'nothing to change: give vars to set or keys to unset');
  for (const key of change.set.keys()) assertConfigKey(key);
  for (const key of change.unset) assertConfigKey(key);
  for (const key of change.unset) {
    if (change.set.has(key)) throw new SlipwayError(ErrorCode.INVALID_REQUEST, `${key} is both set and unset`, { key });
  }
  for (const [key, value] of change.set) {
    const problem = valueProblem(key, value);
    if (problem) throw problem;
  }
  const vars = new Map(current);
  const set: string[] = [];
  const unset: string[] = [];
  for (const key of new Set(change.unset)) {
    if (vars.delete(key)) unset.push(key);
  }
  for (const [key, value] of change.set) {
    if (vars.get(key)?.value === value) continue;
    vars.set(key, { value, ...stamp });
    set.push(key);
  }
  if (vars.size > MAX_CONFIG_VARS) {
    throw new SlipwayError(ErrorCode.CONFIG_TOO_LARGE, `an environment has at most ${MAX_CONFIG_VARS} config vars; this change makes ${vars.size}`, {
      vars: vars.size,
      limit: MAX_CONFIG_VARS,
    });
  }
  let total = 0;
  for (const [key, entry] of vars) total += utf8Bytes(key) + utf8Bytes(entry.value);
  if (total > MAX_CONFIG_TOTAL_BYTES) {
    throw new SlipwayError(ErrorCode.CONFIG_TOO_LARGE, `an environment's config vars hold at most ${MAX_CONFIG_TOTAL_BYTES} bytes together; this change makes ${total}`, {
      bytes: total,
      limit: MAX_CONFIG_TOTAL_BYTES,
    });
  }
  return { vars, set: set.sort(), unset: unset.sort(), changed: set.length + unset.length > 0 };
}
