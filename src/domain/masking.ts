/**
 * What the agent never shows: every output (logs, diff, render, /readyz, /status, error
 * messages) goes through this module. Three layers, each a net under the one before:
 * 1. keys: a value whose key looks secret is replaced whole (`SECRET_KEY_RULES`);
 * 2. forms: inside any text, a URL's password and a `password=…`-style pair are masked, the
 *    pair's name judged by the same rules;
 * 3. known values: text that quotes a secret the agent holds (a sidecar error repeating a
 *    component's config) has that value scrubbed, whatever surrounds it.
 * Separately, text a user or an attacker controls is made printable and bounded before it
 * reaches a terminal or a log line.
 */

export const MASK = '***';

/**
 * How a rule matches a key, after the key is split into lower-case words at separators and
 * camelCase humps (`sasl.jaas.config` → sasl jaas config, `sslKey` → ssl key):
 * - `contains`: the word appears anywhere in the key with its separators removed
 *   (`redisPassword`, `client_secret`, `x-api-key`);
 * - `word`: one of the key's words is exactly this (`dbPwd`, but not `pwdless`);
 * - `last-word`: the key's last word is exactly this, as Spring Boot matches "key" by suffix
 *   (`sslKey`, `private_key`, `caCert` are masked; `keyPrefix`, `certDir`, `authType` are not).
 */
export type SecretKeyMatch = 'contains' | 'word' | 'last-word';

export interface SecretKeyRule {
  readonly word: string;
  readonly match: SecretKeyMatch;
}

/**
 * The one list of what a secret-looking key is. Drawn from Spring Boot's Sanitizer defaults
 * (keys ending in password, secret, key, token; anything with credentials), kubectl's
 * kubeconfig redaction (token, password, client-key-data, client-certificate-data), the
 * header names HTTP clients redact (Authorization, Cookie) and the words Layotto components
 * use (redisPassword, sasl.password, accessKey, sslKey). Over-masking costs a `***` in a
 * diff; under-masking leaks a password into a log aggregator, so the list leans wide.
 */
export const SECRET_KEY_RULES: readonly SecretKeyRule[] = [
  { word: 'password', match: 'contains' },
  { word: 'passwd', match: 'contains' },
  { word: 'passphrase', match: 'contains' },
  { word: 'secret', match: 'contains' },
  { word: 'token', match: 'contains' },
  { word: 'credential', match: 'contains' },
  { word: 'authorization', match: 'contains' },
  { word: 'cookie', match: 'contains' },
  { word: 'jwt', match: 'contains' },
  { word: 'bearer', match: 'contains' },
  { word: 'apikey', match: 'contains' },
  { word: 'accesskey', match: 'contains' },
  { word: 'privatekey', match: 'contains' },
  { word: 'pwd', match: 'word' },
  { word: 'key', match: 'last-word' },
  { word: 'pass', match: 'last-word' },
  { word: 'auth', match: 'last-word' },
  { word: 'cert', match: 'last-word' },
  { word: 'certificate', match: 'last-word' },
  { word: 'pem', match: 'last-word' },
];

/** Apollo's own vocabulary, in every log line and /status: ends in "key" but is public. */
const PUBLIC_ENDINGS = ['releasekey', 'releasekeys'];

const CONTAINS = SECRET_KEY_RULES.filter((rule) => rule.match === 'contains').map((rule) => rule.word);
const ANY_WORD = new Set(SECRET_KEY_RULES.filter((rule) => rule.match === 'word').map((rule) => rule.word));
const LAST_WORD = new Set(SECRET_KEY_RULES.filter((rule) => rule.match === 'last-word').map((rule) => rule.word));

function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    // `HTTPServer` → HTTP Server. A lookahead, not `([A-Z]+)([A-Z][a-z])`: that one rescans a
    // run of capitals from each of its letters, quadratic (a 100 KB key from a release took 4 s).
    .replace(/([A-Z])(?=[A-Z][a-z])/g, '$1 ')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

/** Whether a metadata key (or a field name, or a `name=` inside a value) looks like it holds a secret. */
export function isSecretKey(key: string): boolean {
  const words = keyWords(key);
  if (words.length === 0) return false;
  const joined = words.join('');
  if (PUBLIC_ENDINGS.some((ending) => joined.endsWith(ending))) return false;
  if (CONTAINS.some((word) => joined.includes(word))) return true;
  if (LAST_WORD.has(words[words.length - 1]!)) return true;
  return words.some((word) => ANY_WORD.has(word));
}

/**
 * `scheme://user:password@host`: the password part (Go's url.Redacted keeps the user too). A
 * scheme starts only where no scheme character precedes it, for the reason given at PAIR.
 */
const URL_USERINFO = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#]*):([^\s@/?#]+)@/gi;

/**
 * `name=value`, `name: value`, `"name": "value"`, `name="value"` (JAAS), `name='value'`,
 * with an HTTP auth scheme kept in front of its credentials (`Authorization: Bearer …`). A
 * quoted value may lack its closing quote (a parser's error quoting a torn line). A name starts
 * only where no name character precedes it: otherwise a long run of name characters with no
 * separator after it (a 2 MiB value) is scanned again from every position, quadratic time
 * (200 KB took minutes and blocked the agent).
 */
const PAIR =
  /(["']?)(?<![\w.-])([A-Za-z_][\w.-]*)\1([ \t]*[=:][ \t]*)((?:(?:Bearer|Basic|Digest|Token|Apollo)[ \t]+)?)("(?:[^"\\\n]|\\.)*(?:"|$)|'(?:[^'\\\n]|\\.)*(?:'|$)|[^\s"',;&)}\]]+)/gm;

function maskedPairValue(value: string): string {
  const quote = value[0];
  if (quote !== '"' && quote !== "'") return MASK;
  return value.length > 1 && value.endsWith(quote) ? `${quote}${MASK}${quote}` : `${quote}${MASK}`;
}

/** Masks the secret forms inside a text: URL passwords and secret-named pairs. */
export function maskSecretForms(text: string): string {
  if (!text.includes('@') && !text.includes('=') && !text.includes(':')) return text;
  return text
    .replace(URL_USERINFO, (_all, scheme: string, user: string) => `${scheme}${user}:${MASK}@`)
    .replace(PAIR, (all, quote: string, name: string, separator: string, scheme: string, value: string) =>
      isSecretKey(name) && value !== MASK ? `${quote}${name}${quote}${separator}${scheme}${maskedPairValue(value)}` : all,
    );
}

/** What a metadata value is shown as: `***` under a secret-looking key, else with its secret forms masked. */
export function maskValue(key: string, value: string): string {
  return isSecretKey(key) ? MASK : maskSecretForms(value);
}

/** Defines `key` as an own property: assigning a key `__proto__` would set the prototype instead. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function maskMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const masked: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) define(masked, key, maskValue(key, value));
  return masked;
}

/** Whether a configuration holds anything `maskMetadata` would hide. */
export function holdsSecrets(metadata: Readonly<Record<string, string>>): boolean {
  return Object.entries(metadata).some(([key, value]) => maskValue(key, value) !== value);
}

/**
 * Shorter values are not scrubbed from free text: a secret `on` or `1234` would mask every
 * `on` in every message. The forms and keys still mask them where they appear as such.
 */
export const MIN_SCRUBBED_LENGTH = 6;

/** The secret values inside one configuration: under secret keys, URL passwords, secret pairs. */
export function secretValuesOf(metadata: Readonly<Record<string, string>>): string[] {
  const found: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (isSecretKey(key)) {
      found.push(value);
      continue;
    }
    for (const match of value.matchAll(URL_USERINFO)) found.push(match[3]!);
    for (const match of value.matchAll(PAIR)) {
      if (isSecretKey(match[2]!)) found.push(match[5]!.replace(/^(["'])(.*?)\1?$/s, '$2'));
    }
  }
  return found.filter((value) => value.length >= MIN_SCRUBBED_LENGTH);
}

/** Replaces every occurrence of the given secret values in `text` (longest first, so none is half-masked). */
export function scrubValues(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(MASK);
  return out;
}

/**
 * The secret values the agent currently holds (those of the desired components and the
 * ledger), so that text quoting one (a sidecar's or Apollo's error) is scrubbed before it is
 * logged or served. One instance per agent, filled by whoever knows the components and read
 * by the logger and the HTTP servers.
 */
export class KnownSecrets {
  #values: readonly string[] = [];

  /** Replaces what is known with the secrets of these configurations. */
  replace(configurations: Iterable<{ readonly metadata: Readonly<Record<string, string>> }>): void {
    const values = new Set<string>();
    for (const { metadata } of configurations) for (const value of secretValuesOf(metadata)) values.add(value);
    this.#values = [...values].sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    return text.length < MIN_SCRUBBED_LENGTH ? text : scrubValues(text, this.#values);
  }
}

/** Free text (an error message, a log line's message) with every layer of masking applied. */
export function redactText(text: string, known?: KnownSecrets): string {
  const masked = maskSecretForms(text);
  return known ? known.scrub(masked) : masked;
}

/** Longest string shown in a log field, an error line or a diff value before it is cut. */
export const MAX_SHOWN_LENGTH = 2048;
/** Longest list shown whole in a log line or a served body. */
export const MAX_SHOWN_ITEMS = 100;

/** Cuts `text` to `max` code units (never inside a surrogate pair), saying how long it was. */
export function truncate(text: string, max = MAX_SHOWN_LENGTH): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…[truncated: ${text.length} chars]`;
}

/**
 * Characters a terminal acts on instead of showing: C0 controls (newline, ESC), DEL, C1
 * controls (0x9b is a one-byte CSI), the Unicode line separators and the bidi controls that
 * reorder what is shown ("Trojan Source").
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
/** The same, less what JSON.stringify escapes itself (C0 controls). */
const UNPRINTABLE_AFTER_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Text safe to print on one line of a terminal: control characters escaped (`\n`, `\u001b`),
 * cut to `max` with the original length shown.
 */
export function printable(text: string, max = MAX_SHOWN_LENGTH): string {
  return truncate(text, max).replace(UNPRINTABLE, (char) => NAMED_ESCAPES[char] ?? unicodeEscape(char));
}

/**
 * JSON text safe to print: what JSON.stringify leaves raw (C1 and bidi controls, U+2028) is
 * written as a `\uXXXX` escape, which decodes to the same string, so nothing is lost.
 */
export function printableJson(json: string): string {
  return json.replace(UNPRINTABLE_AFTER_JSON, unicodeEscape);
}

/** JSON.stringify for an output a person may read on a terminal (see printableJson). */
export function stringifyPrintable(value: unknown, space?: number): string {
  // JSON.stringify gives no text at all for undefined (and functions): printed as their name.
  return printableJson(JSON.stringify(value, null, space) ?? String(value));
}

/**
 * A copy of a value for an output: values under secret-looking keys masked at any depth,
 * every string redacted and cut to a sane length, long arrays cut, deep nesting cut. For log
 * fields and served JSON bodies (`/readyz`, `/status`); escaping is the serializer's job.
 */
export function redactDeep(value: unknown, known?: KnownSecrets, depth = 0): unknown {
  if (typeof value === 'string') return truncate(redactText(value, known));
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 8) return '[nested too deep]';
  if (value instanceof Error) return truncate(redactText(value.message, known));
  if (Array.isArray(value)) {
    const shown = value.slice(0, MAX_SHOWN_ITEMS).map((item) => redactDeep(item, known, depth + 1));
    if (value.length > MAX_SHOWN_ITEMS) shown.push(`…[${value.length - MAX_SHOWN_ITEMS} more of ${value.length}]`);
    return shown;
  }
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const secret = isSecretKey(key) && inner !== undefined && inner !== null && typeof inner !== 'object';
    define(out, truncate(key, 256), secret ? MASK : redactDeep(inner, known, depth + 1));
  }
  return out;
}
