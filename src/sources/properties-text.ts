/**
 * Java `.properties` text, as `java.util.Properties.load(Reader)` reads it: `#`/`!` comment
 * lines, `=`, `:` or whitespace between key and value, backslash escapes (`\t \n \r \f
 * \uXXXX`, any other escaped character stands for itself) and lines continued by an odd
 * number of trailing backslashes. Text is UTF-8, as Apollo stores it; a later duplicate key wins.
 * One codec for every properties text the agent reads or writes: files, the Apollo local
 * cache (apollo-java's format) and `convert` output.
 */

const WHITESPACE = new Set([' ', '\t', '\f']);

export class PropertiesSyntaxError extends Error {
  override readonly name = 'PropertiesSyntaxError';
}

function endsWithOddBackslashes(line: string): boolean {
  let count = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) count++;
  return count % 2 === 1;
}

function skipWhitespace(text: string, from: number): number {
  let i = from;
  while (i < text.length && WHITESPACE.has(text[i]!)) i++;
  return i;
}

function unescape(text: string, lineNumber: number): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\' || i === text.length - 1) {
      if (c !== '\\') out += c;
      continue;
    }
    const next = text[++i]!;
    if (next === 'u') {
      const hex = text.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new PropertiesSyntaxError(`line ${lineNumber}: malformed \\uXXXX escape "\\u${hex}"`);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else {
      out += next === 't' ? '\t' : next === 'n' ? '\n' : next === 'r' ? '\r' : next === 'f' ? '\f' : next;
    }
  }
  return out;
}

function splitKeyValue(line: string, lineNumber: number): [string, string] {
  let keyEnd = 0;
  let valueStart = line.length;
  let separated = false;
  let escaped = false;
  for (; keyEnd < line.length; keyEnd++) {
    const c = line[keyEnd]!;
    if (!escaped && (c === '=' || c === ':')) {
      valueStart = keyEnd + 1;
      separated = true;
      break;
    }
    if (!escaped && WHITESPACE.has(c)) {
      valueStart = keyEnd + 1;
      break;
    }
    escaped = c === '\\' ? !escaped : false;
  }
  valueStart = skipWhitespace(line, valueStart);
  if (!separated && (line[valueStart] === '=' || line[valueStart] === ':')) valueStart = skipWhitespace(line, valueStart + 1);
  return [unescape(line.slice(0, keyEnd), lineNumber), unescape(line.slice(valueStart), lineNumber)];
}

/** Throws PropertiesSyntaxError (with the line number) on a malformed `\u` escape, as Java does. */
export function parseProperties(text: string): Record<string, string> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const pairs = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const lineNumber = i + 1;
    let logical = lines[i]!.slice(skipWhitespace(lines[i]!, 0));
    if (logical === '' || logical.startsWith('#') || logical.startsWith('!')) continue;
    while (endsWithOddBackslashes(logical)) {
      logical = logical.slice(0, -1);
      if (i + 1 >= lines.length) break;
      const next = lines[++i]!;
      logical += next.slice(skipWhitespace(next, 0));
    }
    const [key, value] = splitKeyValue(logical, lineNumber);
    pairs.set(key, value);
  }
  return Object.fromEntries(pairs);
}

function hexEscape(code: number): string {
  return `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

function escapeChar(c: string, ascii: boolean): string {
  switch (c) {
    case '\\':
      return '\\\\';
    case '\t':
      return '\\t';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\f':
      return '\\f';
    default: {
      const code = c.charCodeAt(0);
      return code < 0x20 || code === 0x7f || (ascii && code > 0x7e) ? hexEscape(code) : c;
    }
  }
}

/** UTF-16 units when the output must be ASCII (each unit becomes one \uXXXX, as Java writes them). */
function units(text: string, ascii: boolean): string[] {
  return ascii ? text.split('') : [...text];
}

function escapeKey(key: string, ascii: boolean): string {
  return units(key, ascii)
    .map((c, index) => (c === ' ' || c === '=' || c === ':' || (index === 0 && (c === '#' || c === '!')) ? `\\${c}` : escapeChar(c, ascii)))
    .join('');
}

/** Only what would change the value when read back is escaped, so URLs and `host:port` stay readable. */
function escapeValue(value: string, ascii: boolean): string {
  return units(value, ascii)
    .map((c, index) => (index === 0 && c === ' ' ? '\\ ' : escapeChar(c, ascii)))
    .join('');
}

export interface StringifyOptions {
  /** Comment lines written first, each kept to one ASCII line. */
  readonly comments?: readonly string[];
  /**
   * Everything outside printable ASCII as \uXXXX, as `java.util.Properties.store` writes, so
   * that Java's ISO-8859-1 `load(InputStream)` reads the file too (the local cache).
   */
  readonly ascii?: boolean;
}

/** `key=value` lines in the given order, each read back by parseProperties as exactly that pair. */
export function stringifyProperties(pairs: Iterable<readonly [string, string]>, options: StringifyOptions = {}): string {
  const ascii = options.ascii ?? false;
  let out = '';
  for (const comment of options.comments ?? []) out += `#${comment.replace(/[^\x20-\x7e]/g, (c) => hexEscape(c.charCodeAt(0)))}\n`;
  for (const [key, value] of pairs) out += `${escapeKey(key, ascii)}=${escapeValue(value, ascii)}\n`;
  return out;
}

/** The raw text of the comment lines, in order, for files that keep metadata there. */
export function propertiesComments(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.slice(skipWhitespace(line, 0)))
    .filter((line) => line.startsWith('#') || line.startsWith('!'))
    .map((line) => line.slice(1));
}
