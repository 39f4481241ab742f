export const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };

/**
 * `300ms`, `30s`, `5m`, `1h`, `2d` (a decimal is allowed: `1.5h`); `undefined` without a unit,
 * because a bare `5` has been read as 5 ms by one tool and 5 s by another. The caller decides
 * whether a bare `0` means "off".
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

/** The shortest unit-bearing spelling of `ms`, for messages and help: 86400000 → `1d`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of Object.entries(UNIT_MS).reverse()) if (ms % size === 0 && ms >= size) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
