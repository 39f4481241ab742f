import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../domain/errors.js';
import { isHttpUrl } from '../domain/http-url.js';
import { componentRuleSchema, type ComponentRule } from '../mapper/rules.js';
import type { LogFormat, LogLevel } from '../observability/logger.js';
import type { AgentConfig } from './agent-config.js';
import { parseOptionValue } from './option-values.js';
import { flagName, OPTIONS, optionEntries, type AgentOption, type OptionValue, type Settings } from './options.js';

export type { Settings } from './options.js';

export const CONFIG_ENV_VAR = OPTIONS.config.env;

const agentOptions = optionEntries().filter((entry): entry is [keyof Settings, AgentOption] => entry[1].scope === 'agent');

/** The agent options' defaults, from the table. */
export const DEFAULTS: Settings = Object.fromEntries(
  agentOptions.flatMap(([key, row]) => (row.default === undefined ? [] : [[key, row.default]])),
) as Settings;

/** The file schema of one value kind: the shape only; what the value means is checked with the other layers'. */
function fileSchema(value: OptionValue): z.ZodType {
  switch (value.kind) {
    case 'list':
      return z.union([z.string(), z.array(z.string())]);
    case 'boolean':
      return z.union([z.boolean(), z.string()]);
    case 'duration':
    case 'size':
      return z.union([z.string(), z.number()]);
    case 'rules':
      return z.array(componentRuleSchema);
    default:
      return z.string();
  }
}

/** The config file's keys: every agent option except the file's own path. */
const FILE_SCHEMAS: ReadonlyMap<string, z.ZodType> = new Map(
  agentOptions.filter(([, row]) => row.inFile !== false).map(([key, row]) => [key, fileSchema(row.value)]),
);

export interface ConfigInputs {
  /** Parsed command-line flags; undefined values mean "not given". */
  readonly flags: Settings;
  readonly env: NodeJS.ProcessEnv;
  /** Relative paths in the config file and flags resolve against this. */
  readonly cwd?: string;
  /** Defaults of this caller that differ from the table's (one-shot commands log at warn). */
  readonly defaults?: Settings;
}

/** A layer's values and how a problem names where a value came from. */
interface Layer {
  readonly values: Settings;
  readonly label: (key: keyof Settings) => string;
}

/** What each option resolved to, typed by its kind. */
interface Resolved {
  readonly text: (key: keyof Settings) => string | undefined;
  readonly list: (key: keyof Settings) => string[];
  readonly label: (key: keyof Settings) => string;
  readonly value: <T>(key: keyof Settings) => T | undefined;
}

/**
 * Resolves the agent config with precedence flag > env > file > default and validates it
 * whole: every problem is collected, each naming the flag, env var or file key it came from,
 * before one ConfigError.
 */
export async function loadAgentConfig(inputs: ConfigInputs): Promise<AgentConfig> {
  const cwd = inputs.cwd ?? process.cwd();
  const configFile = inputs.flags.config ?? nonEmpty(inputs.env[CONFIG_ENV_VAR]);
  const problems: string[] = [];
  const configPath = configFile === undefined ? undefined : resolve(cwd, configFile);
  const layers: Layer[] = [
    { values: inputs.flags, label: (key) => `--${flagName(key)}` },
    { values: readEnv(inputs.env), label: (key) => (OPTIONS[key] as AgentOption).env ?? key },
    { values: configPath ? await readConfigFile(configPath, problems) : {}, label: (key) => `${configPath}: ${key}` },
    { values: { ...DEFAULTS, ...inputs.defaults }, label: (key) => key },
  ];

  const values = new Map<keyof Settings, unknown>();
  const labels = new Map<keyof Settings, string>();
  for (const [key, row] of agentOptions) {
    const layer = layers.find((candidate) => candidate.values[key] !== undefined);
    if (!layer) continue;
    labels.set(key, layer.label(key));
    const raw = layer.values[key];
    if (row.value.kind === 'text' && String(raw).trim() === '') {
      problems.push(`${layer.label(key)}: is empty; give a value or leave it out`);
      continue;
    }
    const parsed = parseOptionValue(row.value, raw);
    if ('problem' in parsed) problems.push(`${layer.label(key)}: ${parsed.problem}`);
    else values.set(key, parsed.value);
  }
  const resolved: Resolved = {
    text: (key) => values.get(key) as string | undefined,
    list: (key) => (values.get(key) as string[] | undefined) ?? [],
    label: (key) => labels.get(key) ?? `--${flagName(key)}`,
    value: <T>(key: keyof Settings) => values.get(key) as T | undefined,
  };

  let accessKeySecret = resolved.text('accessKeySecret');
  const secretFile = resolved.text('accessKeySecretFile');
  if (accessKeySecret === undefined && secretFile) {
    try {
      accessKeySecret = (await readFile(resolve(cwd, secretFile), 'utf8')).trim();
    } catch (error) {
      problems.push(`${resolved.label('accessKeySecretFile')}: cannot read ${secretFile} (${errorMessage(error)})`);
    }
  }
  const config = resolveSettings(resolved, { accessKeySecret, cwd, configFile: configPath }, problems);
  if (problems.length > 0 || !config) throw new ConfigError('invalid agent configuration', problems);
  return config;
}

async function readConfigFile(path: string, problems: string[]): Promise<Settings> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(path, 'utf8'));
  } catch (error) {
    problems.push(`config ${path}: ${errorMessage(error)}`);
    return {};
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${path}: (root): expected a map of settings`);
    return {};
  }
  // Key by key, so that one bad setting is reported without hiding the problems of the rest.
  // Keys are looked up in a Map: `constructor` or `__proto__` must not find Object.prototype's members.
  const layer: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw)) {
    const schema = FILE_SCHEMAS.get(key);
    if (!schema) {
      problems.push(`${path}: ${key}: unknown setting`);
      continue;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) layer[key] = parsed.data;
    else for (const issue of parsed.error.issues) problems.push(`${path}: ${[key, ...issue.path].join('.')}: ${issue.message}`);
  }
  return layer as Settings;
}

function readEnv(env: NodeJS.ProcessEnv): Settings {
  const layer: Record<string, string> = {};
  for (const [key, row] of agentOptions) {
    const value = row.env === undefined ? undefined : nonEmpty(env[row.env]);
    if (value !== undefined) layer[key] = value;
  }
  return layer as Settings;
}

function resolveSettings(
  s: Resolved,
  extra: { accessKeySecret: string | undefined; cwd: string; configFile: string | undefined },
  problems: string[],
): AgentConfig | undefined {
  const appId = s.text('appId');
  const apolloMeta = s.text('apolloMeta');
  const configServices = s.list('apolloConfigService');
  const files = s.list('file').map((path) => resolve(extra.cwd, path));
  const usesApollo = Boolean(appId || apolloMeta || configServices.length > 0);
  if (usesApollo) {
    if (!appId) problems.push('appId: required when Apollo is a source (--app-id or APOLLO_APP_ID)');
    // The one place this rule is checked: the sources receive a config that satisfies it.
    if (!apolloMeta && configServices.length === 0)
      problems.push('apolloMeta / apolloConfigService: one is required when Apollo is a source (--apollo-meta or --apollo-config-service)');
    const urls = [...configServices.map((url) => ['apolloConfigService', url] as const), ...(apolloMeta ? [['apolloMeta', apolloMeta] as const] : [])];
    for (const [key, url] of urls) {
      const problem = apolloUrlProblem(url);
      if (problem) problems.push(`${s.label(key)}: ${problem}`);
    }
  } else if (files.length === 0) {
    problems.push('no source: give Apollo (--app-id with --apollo-meta or --apollo-config-service) or --file');
  }
  const namespaces = s.list('namespace');
  if (usesApollo && namespaces.length === 0) problems.push(`${s.label('namespace')}: at least one namespace is required`);
  // Apollo matches names case-insensitively, `.properties` aside: two spellings are one namespace.
  const seenNamespaces = new Set<string>();
  for (const namespace of namespaces) {
    const remote = namespace.toLowerCase().replace(/\.properties$/, '');
    if (seenNamespaces.has(remote)) problems.push(`${s.label('namespace')}: ${namespace} is listed twice (Apollo names are case-insensitive)`);
    seenNamespaces.add(remote);
  }

  const sidecar = s.text('sidecar');
  // A client dials port 1 to 65535; 0 means "any" only to a listener (`:70000` used to pass, and fail only at connect time).
  const sidecarAddress = sidecar === undefined ? undefined : splitHostPort(sidecar, '[^:\\s]+');
  if (sidecar !== undefined && (sidecarAddress === undefined || sidecarAddress.port === 0)) problems.push(`${s.label('sidecar')}: ${JSON.stringify(sidecar)} is not HOST:PORT`);
  const httpText = s.text('http');
  const http = httpText === undefined ? undefined : parseHttp(httpText);
  if (httpText !== undefined && !http) problems.push(`${s.label('http')}: ${JSON.stringify(httpText)} is not HOST:PORT or off`);

  const logLevel = s.value<LogLevel>('logLevel');
  const logFormat = s.value<LogFormat>('logFormat');
  const resyncIntervalMs = s.value<number>('resyncInterval');
  const maxPushBytes = s.value<number>('maxPushBytes');
  const cacheSecrets = s.value<boolean>('cacheSecrets');
  const stateDir = s.text('stateDir');
  if (
    problems.length > 0 ||
    sidecar === undefined ||
    stateDir === undefined ||
    !http ||
    !logLevel ||
    !logFormat ||
    resyncIntervalMs === undefined ||
    maxPushBytes === undefined ||
    cacheSecrets === undefined
  )
    return undefined;
  const label = s.text('label');
  const ip = s.text('ip');
  return {
    apollo: usesApollo
      ? {
          appId: appId!,
          cluster: s.text('cluster')!,
          namespaces,
          ...(apolloMeta ? { meta: apolloMeta } : {}),
          ...(configServices.length > 0 ? { configServices } : {}),
          ...(extra.accessKeySecret ? { accessKeySecret: extra.accessKeySecret } : {}),
          ...(label ? { label } : {}),
          ...(ip ? { ip } : {}),
        }
      : undefined,
    files,
    components: s.value<ComponentRule[]>('components') ?? [],
    sidecar,
    stateDir: resolve(extra.cwd, stateDir),
    http,
    logLevel,
    logFormat,
    resyncIntervalMs,
    maxPushBytes,
    cacheSecrets,
    ...(extra.configFile ? { configFile: extra.configFile } : {}),
  };
}

/**
 * Why an Apollo address cannot be used, or undefined. User info (`http://user:password@host`)
 * is refused: Apollo authenticates with the access key, and a password in the URL would be
 * printed by every log line that names the address. The message never repeats the user info.
 */
function apolloUrlProblem(text: string): string | undefined {
  if (!isHttpUrl(text)) return `${JSON.stringify(withoutUserInfo(text))} is not an http(s) URL`;
  const url = new URL(text);
  if (url.username !== '' || url.password !== '')
    return `${withoutUserInfo(text)} carries a user name or password; remove the "user:password@" part (Apollo authenticates with --access-key-secret-file)`;
  return undefined;
}

/** The text with anything between `//` (or the start) and `@` replaced, so a password is never echoed. */
function withoutUserInfo(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, '$1***@');
}

/** HOST:PORT with a port of at most 65535, the host being what `hostPattern` (no groups) admits. */
function splitHostPort(text: string, hostPattern: string): { host: string; port: number } | undefined {
  const match = new RegExp(`^(${hostPattern}):(\\d{1,5})$`).exec(text);
  return match && Number(match[2]) <= 65535 ? { host: match[1]!, port: Number(match[2]) } : undefined;
}

function parseHttp(text: string): AgentConfig['http'] | undefined {
  if (text === 'off') return 'off';
  const address = splitHostPort(text, '.+');
  return address && { host: address.host.replace(/^\[(.*)\]$/, '$1'), port: address.port };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
