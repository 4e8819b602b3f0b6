import { HttpError } from '../errors.js';

/** Deeper payloads are refused: serialising them again (verdicts echo metadata) would overflow the stack. */
export const MAX_DEPTH = 32;
/** Object keys and array items a payload may hold in all: a job with many candidates needs hundreds; validating and storing more costs seconds. */
export const MAX_VALUES = 10_000;
/** Keys that would become an object's prototype, not a property, wherever the value is copied by assignment. */
const RESERVED_KEYS = new Set(['__proto__']);

/**
 * Checks a parsed JSON payload's shape before anything else reads it: how deep it nests, how many
 * keys and items it holds, and that no key is reserved; a 422 naming the first problem. Iterative: the
 * value may nest deeper than the stack.
 */
export function checkPayloadShape(value: unknown): void {
  let values = 0;
  const stack: [unknown, number, string][] = [[value, 0, '']];
  while (stack.length) {
    const [v, depth, path] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > MAX_DEPTH) throw new HttpError(422, 'TOO_DEEP', `the payload nests deeper than ${MAX_DEPTH} levels`);
    const keys = Object.keys(v);
    values += keys.length;
    if (values > MAX_VALUES) throw new HttpError(422, 'TOO_MANY_VALUES', `the payload holds more than ${MAX_VALUES} keys and array items`);
    for (const key of keys) {
      if (RESERVED_KEYS.has(key)) throw new HttpError(422, 'RESERVED_KEY', `the key ${`${path}/${key}`.slice(0, 200)} is reserved; rename it`);
      stack.push([(v as Record<string, unknown>)[key], depth + 1, `${path}/${key}`]);
    }
  }
}
