import { parseByteSize } from './byte-size.js';
import { formatDuration, parseDuration } from './duration.js';
import type { OptionValue } from './options.js';

export type ParsedValue = { readonly value: unknown } | { readonly problem: string };

const quoted = (raw: unknown): string => JSON.stringify(raw);

/**
 * A raw value (a flag's or env var's string, a file's scalar) checked against its option's
 * kind. A problem says what is wrong and what to write instead; the caller names the option.
 */
export function parseOptionValue(kind: OptionValue, raw: unknown): ParsedValue {
  switch (kind.kind) {
    case 'text':
      return { value: String(raw) };
    case 'list':
      return {
        value: (Array.isArray(raw) ? raw.map(String) : [String(raw)])
          .flatMap((item) => item.split(','))
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      };
    case 'boolean': {
      if (typeof raw === 'boolean') return { value: raw };
      const text = String(raw).trim().toLowerCase();
      if (text === 'true' || text === '1') return { value: true };
      if (text === 'false' || text === '0') return { value: false };
      return { problem: `${quoted(raw)} is not true or false` };
    }
    case 'choice':
      return kind.choices.includes(String(raw)) ? { value: String(raw) } : { problem: `${quoted(raw)} is not one of ${kind.choices.join(', ')}` };
    case 'duration': {
      const range = `${formatDuration(kind.minMs)} to ${formatDuration(kind.maxMs)}${kind.offWithZero ? ', or 0 to turn it off' : ''}`;
      const text = String(raw).trim();
      if (kind.offWithZero && /^0+(\.0+)?$/.test(text)) return { value: 0 };
      const ms = parseDuration(text);
      if (ms === undefined) {
        const bare = /^\d+(\.\d+)?$/.test(text);
        return { problem: `${quoted(raw)} ${bare ? 'has no unit' : 'is not a duration'}; write it like ${bare ? `${text}s or ${text}m` : '30s, 5m or 1h'} (${range})` };
      }
      if (ms < kind.minMs || ms > kind.maxMs) return { problem: `${quoted(raw)} is out of range; give ${range}` };
      return { value: ms };
    }
    case 'size': {
      const bytes = parseByteSize(String(raw));
      if (bytes === undefined || bytes < kind.min || bytes > kind.max)
        return { problem: `${quoted(raw)} is not a size like 4MiB, 512KiB or 100000 (bytes, or KiB, MiB, GiB; from ${kind.min} to ${kind.max} bytes)` };
      return { value: bytes };
    }
    case 'rules':
      return { value: raw };
  }
}
