import { z } from 'zod';

/** Sets `key` as an own property: a key named `__proto__` is defined, not taken as the prototype. */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/**
 * A record schema that keeps every own key of its input. zod's `z.record` builds its output by
 * assignment, so a key `__proto__` (which JSON.parse defines as an own property) was dropped
 * silently. Here every key is defined as an own property (a plain object, as before).
 */
export function ownRecord<T extends z.ZodType>(value: T): z.ZodType<Record<string, z.output<T>>> {
  return z.custom<Record<string, unknown>>((input) => typeof input === 'object' && input !== null && !Array.isArray(input), 'expected an object')
    .transform((input, context) => {
      const out: Record<string, z.output<T>> = {};
      for (const key of Object.keys(input)) {
        const parsed = value.safeParse(input[key]);
        if (parsed.success) setOwn(out, key, parsed.data);
        else for (const issue of parsed.error.issues) context.addIssue({ code: 'custom', message: issue.message, path: [key, ...issue.path] });
      }
      return out;
    }) as unknown as z.ZodType<Record<string, z.output<T>>>;
}
