/**
 * Whether `value` takes more than `limitBytes` bytes of UTF-8. A UTF-16 code unit is at most 3
 * bytes of UTF-8, so a value of up to a third of the limit in units is within it without a byte
 * count: only longer values, rare, are counted.
 */
export function utf8LongerThan(value: string, limitBytes: number): boolean {
  return value.length * 3 > limitBytes && Buffer.byteLength(value, 'utf8') > limitBytes;
}
