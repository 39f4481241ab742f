import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../domain/errors.js';
import { isHttpUrl } from '../domain/http-url.js';
import { componentRuleSchema } from '../mapper/rules.js';
import type { AgentConfig } from './agent-config.js';
import { parseByteSize } from './byte-size.js';
import { parseDuration } from './duration.js';

/**
 * One layer of settings as a user writes them (flags, env, file): every field optional,
 * lists either as arrays or comma-separated strings. The keys are the camelCase flag names.
 */
const listSchema = z.union([z.string(), z.array(z.string())]);
const settingsSchema = z
  .object({
    apolloMeta: z.string(),
    apolloConfigService: listSchema,
    appId: z.string(),
    cluster: z.string(),
    namespace: listSchema,
    accessKeySecret: z.string(),
    accessKeySecretFile: z.string(),
    label: z.string(),
    ip: z.string(),
    file: listSchema,
    sidecar: z.string(),
    stateDir: z.string(),
    http: z.string(),
    logLevel: z.string(),
    logFormat: z.string(),
    resyncInterval: z.union([z.string(), z.number()]),
    maxPushBytes: z.union([z.string(), z.number()]),
    cacheSecrets: z.union([z.boolean(), z.string()]),
    components: z.array(componentRuleSchema),
  })
  .partial()
  .strict();

export type Settings = z.infer<typeof settingsSchema>;
type SettingKey = keyof Settings;

/** Environment variable of each setting (CONTRACT.md section 3). */
export const ENV_VARS: Partial<Record<SettingKey, string>> = {
  apolloMeta: 'APOLLO_META',
  apolloConfigService: 'APOLLO_CONFIG_SERVICE',
  appId: 'APOLLO_APP_ID',
  cluster: 'APOLLO_CLUSTER',
  namespace: 'APOLLO_NAMESPACES',
  accessKeySecret: 'APOLLO_ACCESS_KEY_SECRET',
  accessKeySecretFile: 'APOLLO_ACCESS_KEY_SECRET_FILE',
  label: 'APOLLO_LABEL',
  ip: 'APOLLO_IP',
  file: 'AGENT_FILES',
  sidecar: 'SIDECAR_ADDRESS',
  stateDir: 'AGENT_STATE_DIR',
  http: 'AGENT_HTTP',
  logLevel: 'LOG_LEVEL',
  logFormat: 'LOG_FORMAT',
  resyncInterval: 'AGENT_RESYNC_INTERVAL',
  maxPushBytes: 'AGENT_MAX_PUSH_BYTES',
  cacheSecrets: 'AGENT_CACHE_SECRETS',
};
export const CONFIG_ENV_VAR = 'AGENT_CONFIG';

export const DEFAULTS = {
  cluster: 'default',
  namespace: ['application'] as string[],
  sidecar: '127.0.0.1:34904',
  stateDir: './.apollo-sidecar-agent',
  http: '127.0.0.1:34980',
  logLevel: 'info',
  logFormat: 'json',
  resyncInterval: '5m',
  maxPushBytes: '4MiB',
  cacheSecrets: true,
} satisfies Settings;

export interface ConfigInputs {
  /** Parsed command-line flags; undefined values mean "not given". */
  readonly flags: Settings & { config?: string };
  readonly env: NodeJS.ProcessEnv;
  /** Relative paths in the config file and flags resolve against this. */
  readonly cwd?: string;
}

/**
 * Resolves the agent config with precedence flag > env > file > default and validates it
 * whole: every problem is collected, with the path it concerns, before one ConfigError.
 */
export async function loadAgentConfig(inputs: ConfigInputs): Promise<AgentConfig> {
  const cwd = inputs.cwd ?? process.cwd();
  const configFile = inputs.flags.config ?? nonEmpty(inputs.env[CONFIG_ENV_VAR]);
  const problems: string[] = [];
  const fileLayer = configFile ? await readConfigFile(resolve(cwd, configFile), problems) : {};
  const envLayer = readEnv(inputs.env);
  const merged: Settings = { ...DEFAULTS, ...defined(fileLayer), ...defined(envLayer), ...defined(inputs.flags) };

  let accessKeySecret = merged.accessKeySecret;
  if (accessKeySecret === undefined && merged.accessKeySecretFile) {
    try {
      accessKeySecret = (await readFile(resolve(cwd, merged.accessKeySecretFile), 'utf8')).trim();
    } catch (error) {
      problems.push(`accessKeySecretFile: cannot read ${merged.accessKeySecretFile}: ${errorMessage(error)}`);
    }
  }
  const config = resolveSettings(merged, { accessKeySecret, cwd, configFile: configFile && resolve(cwd, configFile) }, problems);
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
  const layer: Record<string, unknown> = {};
  const shape = settingsSchema.shape as Record<string, z.ZodType>;
  for (const [key, value] of Object.entries(raw)) {
    // Own keys only: `constructor` or `toString` must not find Object.prototype's members.
    const schema = Object.hasOwn(shape, key) ? shape[key] : undefined;
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
  for (const [key, name] of Object.entries(ENV_VARS)) {
    const value = nonEmpty(env[name]);
    if (value !== undefined) layer[key] = value;
  }
  return layer;
}

function resolveSettings(
  s: Settings,
  extra: { accessKeySecret: string | undefined; cwd: string; configFile: string | undefined },
  problems: string[],
): AgentConfig | undefined {
  const list = (value: string | readonly string[] | undefined): string[] =>
    (typeof value === 'string' ? [value] : (value ?? []))
      .flatMap((item) => item.split(','))
      .map((item) => item.trim())
      .filter((item) => item.length > 0);

  const configServices = list(s.apolloConfigService);
  const files = list(s.file).map((path) => resolve(extra.cwd, path));
  const usesApollo = Boolean(s.appId || s.apolloMeta || configServices.length > 0);
  if (usesApollo) {
    if (!s.appId) problems.push('appId: required when Apollo is a source (--app-id or APOLLO_APP_ID)');
    if (!s.apolloMeta && configServices.length === 0)
      problems.push('apolloMeta / apolloConfigService: one is required when Apollo is a source');
    for (const [setting, url] of [...configServices.map((url) => ['apolloConfigService', url]), ...(s.apolloMeta ? [['apolloMeta', s.apolloMeta]] : [])]) {
      const problem = apolloUrlProblem(url!);
      if (problem) problems.push(`${setting}: ${problem}`);
    }
  } else if (files.length === 0) {
    problems.push('no source: give Apollo (--app-id with --apollo-meta or --apollo-config-service) or --file');
  }
  const namespaces = list(s.namespace);
  if (usesApollo && namespaces.length === 0) problems.push('namespace: at least one namespace is required');
  // Apollo matches names case-insensitively, `.properties` aside: two spellings are one namespace.
  const seenNamespaces = new Set<string>();
  for (const namespace of namespaces) {
    const remote = namespace.toLowerCase().replace(/\.properties$/, '');
    if (seenNamespaces.has(remote)) problems.push(`namespace: ${namespace} is listed twice (Apollo names are case-insensitive)`);
    seenNamespaces.add(remote);
  }

  if (!/^[^:\s]+:\d{1,5}$/.test(s.sidecar ?? '')) problems.push(`sidecar: ${JSON.stringify(s.sidecar)} is not HOST:PORT`);
  const http = parseHttp(s.http ?? DEFAULTS.http);
  if (!http) problems.push(`http: ${JSON.stringify(s.http)} is not HOST:PORT or off`);
  const logLevel = z.enum(['error', 'warn', 'info', 'debug']).safeParse(s.logLevel);
  if (!logLevel.success) problems.push(`logLevel: ${JSON.stringify(s.logLevel)} is not one of error, warn, info, debug`);
  const logFormat = z.enum(['json', 'pretty']).safeParse(s.logFormat);
  if (!logFormat.success) problems.push(`logFormat: ${JSON.stringify(s.logFormat)} is not json or pretty`);
  const resyncIntervalMs = parseDuration(String(s.resyncInterval));
  if (resyncIntervalMs === undefined) problems.push(`resyncInterval: ${JSON.stringify(s.resyncInterval)} is not a duration like 30s, 5m or 0`);
  const maxPushBytes = parseByteSize(String(s.maxPushBytes));
  if (maxPushBytes === undefined || maxPushBytes < 1 || maxPushBytes > MAX_PUSH_BYTES_LIMIT)
    problems.push(`maxPushBytes: ${JSON.stringify(s.maxPushBytes)} is not a size from 1 byte to 2GiB like 4MiB, 512KiB or 100000 (units: KiB, MiB, GiB)`);
  const cacheSecrets = parseBoolean(s.cacheSecrets);
  if (cacheSecrets === undefined) problems.push(`cacheSecrets: ${JSON.stringify(s.cacheSecrets)} is not true or false`);

  if (
    problems.length > 0 ||
    !http ||
    !logLevel.success ||
    !logFormat.success ||
    resyncIntervalMs === undefined ||
    maxPushBytes === undefined ||
    cacheSecrets === undefined
  )
    return undefined;
  return {
    apollo: usesApollo
      ? {
          appId: s.appId!,
          cluster: s.cluster ?? DEFAULTS.cluster,
          namespaces,
          ...(s.apolloMeta ? { meta: s.apolloMeta } : {}),
          ...(configServices.length > 0 ? { configServices } : {}),
          ...(extra.accessKeySecret ? { accessKeySecret: extra.accessKeySecret } : {}),
          ...(s.label ? { label: s.label } : {}),
          ...(s.ip ? { ip: s.ip } : {}),
        }
      : undefined,
    files,
    components: s.components ?? [],
    sidecar: s.sidecar!,
    stateDir: resolve(extra.cwd, s.stateDir!),
    http,
    logLevel: logLevel.data,
    logFormat: logFormat.data,
    resyncIntervalMs,
    maxPushBytes,
    cacheSecrets,
    ...(extra.configFile ? { configFile: extra.configFile } : {}),
  };
}

/** grpc-js and grpc-go take the receive limit as an int32. */
const MAX_PUSH_BYTES_LIMIT = 2 ** 31 - 1;

function parseBoolean(value: boolean | string | undefined): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const text = value?.trim().toLowerCase();
  return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : undefined;
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

function parseHttp(text: string): AgentConfig['http'] | undefined {
  if (text === 'off') return 'off';
  const match = /^(.+):(\d{1,5})$/.exec(text);
  if (!match || Number(match[2]) > 65535) return undefined;
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** Drops undefined values so that spreading a layer never erases a lower one. */
function defined<T extends object>(layer: T): Partial<T> {
  return Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined)) as Partial<T>;
}
