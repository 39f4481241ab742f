/**
 * java.util.Properties text, as `store()` writes and `load()` reads it. The local cache keeps
 * this format so that a Java client's cache and ours can be read by the same tools.
 */

function escape(text: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charAt(i);
    const code = text.charCodeAt(i);
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case ' ':
        out += i === 0 || isKey ? '\\ ' : ' ';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\f':
        out += '\\f';
        break;
      case '=':
      case ':':
      case '#':
      case '!':
        out += `\\${ch}`;
        break;
      default:
        // Non-ASCII as \uXXXX keeps the file readable by Java's ISO-8859-1 `load(InputStream)`.
        out += code < 0x20 || code > 0x7e ? `\\u${code.toString(16).toUpperCase().padStart(4, '0')}` : ch;
    }
  }
  return out;
}

/** One `key=value` line per entry, in key order so that equal content gives equal files. */
export function formatProperties(entries: Readonly<Record<string, string>>, comments: readonly string[] = []): string {
  const lines = comments.map((comment) => `#${escapeComment(comment)}`);
  for (const key of Object.keys(entries).sort()) {
    lines.push(`${escape(key, true)}=${escape(entries[key] ?? '', false)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Comments stay one ASCII line; \uXXXX keeps JSON placed in a comment valid JSON. */
function escapeComment(comment: string): string {
  return comment.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Logical lines: comments and blanks dropped, backslash continuations joined. */
function logicalLines(text: string): string[] {
  const physical = text.split(/\r\n|\r|\n/);
  const lines: string[] = [];
  let pending: string | undefined;
  for (const raw of physical) {
    const line = raw.replace(/^[ \t\f]+/, '');
    if (pending === undefined && (line === '' || line.startsWith('#') || line.startsWith('!'))) continue;
    const trailing = /\\*$/.exec(line)?.[0].length ?? 0;
    const continues = trailing % 2 === 1;
    const body = continues ? line.slice(0, -1) : line;
    pending = (pending ?? '') + body;
    if (!continues) {
      lines.push(pending);
      pending = undefined;
    }
  }
  if (pending !== undefined) lines.push(pending);
  return lines;
}

function unescape(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charAt(i);
    if (ch !== '\\' || i + 1 >= text.length) {
      out += ch;
      continue;
    }
    i += 1;
    const next = text.charAt(i);
    if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) {
      out += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 5), 16));
      i += 4;
    } else if (next === 't') out += '\t';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else if (next === 'f') out += '\f';
    else out += next;
  }
  return out;
}

/** Parses properties text; later duplicates win, as in Java. */
export function parseProperties(text: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of logicalLines(text)) {
    let keyEnd = 0;
    while (keyEnd < line.length) {
      const ch = line.charAt(keyEnd);
      if (ch === '\\') keyEnd += 2;
      else if (ch === '=' || ch === ':' || ch === ' ' || ch === '\t' || ch === '\f') break;
      else keyEnd += 1;
    }
    keyEnd = Math.min(keyEnd, line.length);
    let valueStart = keyEnd;
    while (valueStart < line.length && /[ \t\f]/.test(line.charAt(valueStart))) valueStart += 1;
    if (valueStart < line.length && (line.charAt(valueStart) === '=' || line.charAt(valueStart) === ':')) valueStart += 1;
    while (valueStart < line.length && /[ \t\f]/.test(line.charAt(valueStart))) valueStart += 1;
    entries[unescape(line.slice(0, keyEnd))] = unescape(line.slice(valueStart));
  }
  return entries;
}

/** The raw text of the comment lines, in order, for files that keep metadata there. */
export function propertiesComments(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/^[ \t\f]+/, ''))
    .filter((line) => line.startsWith('#') || line.startsWith('!'))
    .map((line) => line.slice(1));
}
