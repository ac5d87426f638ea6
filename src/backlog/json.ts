/** A value that survives `JSON.stringify` and `JSON.parse` unchanged. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** What {@link JsonCompatible} puts where a value is not JSON, so the compiler's message says why. */
export type NotPlainJson =
  'not plain JSON: functions, Dates, Maps, Sets, BigInts and symbols are refused';

/**
 * `T` checked to be plain JSON data, member by member, the way
 * {@link assertPlainJson} checks a value: a member that is a function, a
 * `Date` or another object with methods, a BigInt or a symbol becomes
 * {@link NotPlainJson}, so a `T` holding one is not assignable to it. Unlike
 * {@link JsonValue}, whose objects have an index signature, it accepts a type
 * declared as an `interface` (which has none). `any` and `unknown` are left
 * unchecked (`unknown`): the value is checked when the task is enqueued.
 */
export type JsonCompatible<T> = 0 extends 1 & T
  ? unknown
  : unknown extends T
    ? unknown
    : T extends string | number | boolean | null
      ? T
      : T extends undefined
        ? never
        : T extends bigint | symbol | ((...args: never[]) => unknown)
          ? NotPlainJson
          : { [K in keyof T]: JsonCompatible<T[K]> };

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  const name = (value as object).constructor?.name;
  return name ? `a ${name}` : 'an object with a null prototype';
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Throws a `TypeError` naming the path (`payload.items[3].at`) of the first
 * value that is not plain JSON data: objects, arrays, strings, finite numbers,
 * booleans and null. Dates, Maps, Sets, `undefined`, BigInts, functions,
 * class instances and cycles are refused rather than silently changed by
 * `JSON.stringify`. It visits every value once: time in proportion to the size.
 */
export function assertPlainJson(
  value: unknown,
  path: string,
  owner?: string,
): asserts value is JsonValue {
  // The fast check builds no paths; only a payload that fails it is walked again for the message.
  if (isPlainJson(value, [])) return;
  try {
    walk(value, path, new Set());
    throw new TypeError(`${path} must be plain JSON data`);
  } catch (error) {
    if (owner === undefined || !(error instanceof TypeError)) throw error;
    throw new TypeError(`${owner}: ${error.message}`);
  }
}

/**
 * {@link assertPlainJson}, then the value's JSON text: the one serialization
 * a durable payload gets. The store writes this text as it is, and the
 * worker's in-memory copy is parsed from it, so the payload is never
 * serialized twice, and what is kept is what was accepted even if the
 * caller changes the object afterwards.
 */
export function plainJsonText(value: unknown, path: string, owner?: string): string {
  assertPlainJson(value, path, owner);
  return JSON.stringify(value);
}

/** The same rules as {@link walk}, without building paths: the common case, an accepted payload. */
function isPlainJson(value: unknown, ancestors: object[]): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (ancestors.includes(value)) return false;
      const isArray = Array.isArray(value);
      if (!isArray && !isPlainObject(value)) return false;
      ancestors.push(value);
      let ok = true;
      if (isArray) {
        for (let i = 0; ok && i < value.length; i++) ok = isPlainJson(value[i], ancestors);
      } else {
        for (const key in value) {
          if (!Object.hasOwn(value, key)) continue;
          ok = isPlainJson((value as Record<string, unknown>)[key], ancestors);
          if (!ok) break;
        }
      }
      ancestors.pop();
      return ok;
    }
    default:
      return false;
  }
}

function walk(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (Number.isFinite(value)) return;
      throw new TypeError(
        `${path} must be plain JSON data: ${describe(value)} is not a finite number`,
      );
    case 'object':
      if (value === null) return;
      walkObject(value, path, ancestors);
      return;
    default:
      throw new TypeError(`${path} must be plain JSON data, got ${describe(value)}`);
  }
}

function walkObject(value: object, path: string, ancestors: Set<object>): void {
  if (ancestors.has(value)) throw new TypeError(`${path} must be plain JSON data: it is a cycle`);
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) {
    throw new TypeError(`${path} must be plain JSON data, got ${describe(value)}`);
  }
  ancestors.add(value);
  if (isArray) {
    for (let i = 0; i < value.length; i++) walk(value[i], `${path}[${i}]`, ancestors);
  } else {
    for (const key of Object.keys(value)) {
      walk((value as Record<string, unknown>)[key], `${path}.${key}`, ancestors);
    }
  }
  ancestors.delete(value);
}
