const UNIT_BYTES: Record<string, number> = { '': 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/**
 * `4MiB`, `512KiB`, `1GiB` or a plain number of bytes; `undefined` when malformed. Only
 * binary units: `4MB` would be ambiguous (10^6 or 2^20?), so it is refused rather than guessed.
 */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+)\s*(KiB|MiB|GiB)?\s*$/i.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_BYTES[(match[2] ?? '').toLowerCase()]!;
}
