import type { ComponentRule } from '../mapper/rules.js';
import { DAY_MS } from './duration.js';

/**
 * Every option of every command, in one table: the CLI builds its flags and help from it, the
 * config loader its environment variables, file schema, defaults and value checks. An option
 * is added here and nowhere else.
 */

export const COMMAND_NAMES = ['run', 'diff', 'apply', 'render', 'validate', 'convert', 'status', 'completion'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/**
 * The commands that read the agent config. Each accepts every agent option (flag, env or file),
 * so one command line serves `validate`, `diff`, `apply` and `run` alike; its help shows only
 * the ones it uses.
 */
export const AGENT_COMMANDS = ['run', 'diff', 'apply', 'render', 'validate'] as const satisfies readonly CommandName[];
const SOURCES_READERS = AGENT_COMMANDS;

export type OptionValue =
  | { readonly kind: 'text' }
  /** Repeatable flag; comma-separated in env; an array or a comma list in the file. */
  | { readonly kind: 'list' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'choice'; readonly choices: readonly string[] }
  /** With a unit, between the bounds; `0` only when `offWithZero`. */
  | { readonly kind: 'duration'; readonly minMs: number; readonly maxMs: number; readonly offWithZero?: boolean }
  | { readonly kind: 'size'; readonly min: number; readonly max: number }
  /** Structured: the config file only. */
  | { readonly kind: 'rules' };

interface OptionBase {
  readonly describe: string;
  readonly value: OptionValue;
  /** Shown in these commands' help (and, for command options, accepted only by them). */
  readonly shownBy: readonly CommandName[];
  readonly default?: string | boolean;
  readonly alias?: string;
}

/** Part of the agent config: a flag, an env var and a file key unless said otherwise. */
export interface AgentOption extends OptionBase {
  readonly scope: 'agent';
  readonly group: 'source' | 'agent';
  /** Undefined: not settable from the environment. */
  readonly env?: string;
  /** False: no config-file key (the file's own path). */
  readonly inFile?: false;
  /** False: no flag (structured values live in the file). */
  readonly flag?: false;
}

/** One command's own switch: a flag only. */
export interface CommandOption extends OptionBase {
  readonly scope: 'command';
  readonly required?: true;
}

export type OptionRow = AgentOption | CommandOption;

/** 24 days: under Node's timer limit (2^31 - 1 ms, 24.8 days), over which a timer fires at once. */
const MAX_DURATION_MS = 24 * DAY_MS;
const TEXT = { kind: 'text' } as const;
const LIST = { kind: 'list' } as const;
const BOOLEAN = { kind: 'boolean' } as const;

export const OPTIONS = {
  config: {
    scope: 'agent',
    group: 'agent',
    alias: 'c',
    env: 'AGENT_CONFIG',
    inFile: false,
    value: TEXT,
    shownBy: AGENT_COMMANDS,
    describe: 'agent config file, YAML or JSON; its keys are the camelCase option names',
  },
  apolloMeta: { scope: 'agent', group: 'source', env: 'APOLLO_META', value: TEXT, shownBy: SOURCES_READERS, describe: 'Apollo meta server URL' },
  apolloConfigService: {
    scope: 'agent',
    group: 'source',
    env: 'APOLLO_CONFIG_SERVICE',
    value: LIST,
    shownBy: SOURCES_READERS,
    describe: 'Apollo config service URL(s), comma-separated; skips the meta server',
  },
  appId: { scope: 'agent', group: 'source', env: 'APOLLO_APP_ID', value: TEXT, shownBy: SOURCES_READERS, describe: 'Apollo appId; required when Apollo is a source' },
  cluster: { scope: 'agent', group: 'source', env: 'APOLLO_CLUSTER', value: TEXT, default: 'default', shownBy: SOURCES_READERS, describe: 'Apollo cluster' },
  namespace: {
    scope: 'agent',
    group: 'source',
    env: 'APOLLO_NAMESPACES',
    value: LIST,
    default: 'application',
    shownBy: SOURCES_READERS,
    describe: 'Apollo namespace, repeatable or comma-separated, lowest priority first',
  },
  accessKeySecret: {
    scope: 'agent',
    group: 'source',
    env: 'APOLLO_ACCESS_KEY_SECRET',
    value: TEXT,
    shownBy: SOURCES_READERS,
    describe: 'Apollo access key secret: signs every request',
  },
  accessKeySecretFile: {
    scope: 'agent',
    group: 'source',
    env: 'APOLLO_ACCESS_KEY_SECRET_FILE',
    value: TEXT,
    shownBy: SOURCES_READERS,
    describe: 'read the access key secret from this file, keeping it out of the process list',
  },
  label: { scope: 'agent', group: 'source', env: 'APOLLO_LABEL', value: TEXT, shownBy: SOURCES_READERS, describe: 'Apollo grayscale label' },
  ip: {
    scope: 'agent',
    group: 'source',
    env: 'APOLLO_IP',
    value: TEXT,
    shownBy: SOURCES_READERS,
    describe: "client IP reported to Apollo for grayscale rules (default: the host's first non-internal IPv4)",
  },
  file: {
    scope: 'agent',
    group: 'source',
    env: 'AGENT_FILES',
    value: LIST,
    shownBy: SOURCES_READERS,
    describe: 'file source: a file or a directory (mounted ConfigMap), repeatable or comma-separated; ranks below Apollo namespaces',
  },
  components: {
    scope: 'agent',
    group: 'source',
    flag: false,
    value: { kind: 'rules' },
    shownBy: [],
    describe: 'explicit mapping rules { kind, name, prefix, namespace? }; they override the key convention',
  },
  sidecar: {
    scope: 'agent',
    group: 'agent',
    env: 'SIDECAR_ADDRESS',
    value: TEXT,
    default: '127.0.0.1:34904',
    shownBy: ['run', 'apply', 'validate'],
    describe: 'Layotto gRPC address HOST:PORT',
  },
  stateDir: {
    scope: 'agent',
    group: 'agent',
    env: 'AGENT_STATE_DIR',
    value: TEXT,
    default: './.apollo-sidecar-agent',
    shownBy: AGENT_COMMANDS,
    describe: 'ledger (what was last applied) and Apollo local cache; only run and apply write it',
  },
  http: {
    scope: 'agent',
    group: 'agent',
    env: 'AGENT_HTTP',
    value: TEXT,
    default: '127.0.0.1:34980',
    shownBy: ['run', 'validate'],
    describe: '/healthz, /readyz, /metrics, /status address HOST:PORT, or off',
  },
  logLevel: {
    scope: 'agent',
    group: 'agent',
    env: 'LOG_LEVEL',
    value: { kind: 'choice', choices: ['error', 'warn', 'info', 'debug'] },
    default: 'info',
    shownBy: AGENT_COMMANDS,
    describe: 'log level; one-shot commands log at warn unless it is given; debug adds stack traces to errors',
  },
  logFormat: {
    scope: 'agent',
    group: 'agent',
    env: 'LOG_FORMAT',
    value: { kind: 'choice', choices: ['json', 'pretty'] },
    default: 'json',
    shownBy: AGENT_COMMANDS,
    describe: 'log format',
  },
  resyncInterval: {
    scope: 'agent',
    group: 'agent',
    env: 'AGENT_RESYNC_INTERVAL',
    value: { kind: 'duration', minMs: 10_000, maxMs: MAX_DURATION_MS, offWithZero: true },
    default: '5m',
    shownBy: ['run', 'validate'],
    describe: 're-send what the sidecar has not confirmed, e.g. 30s, 5m, 1h (10s to 24d; 0 turns it off)',
  },
  maxPushBytes: {
    scope: 'agent',
    group: 'agent',
    env: 'AGENT_MAX_PUSH_BYTES',
    value: { kind: 'size', min: 1, max: 2 ** 31 - 1 },
    default: '4MiB',
    shownBy: ['run', 'apply', 'validate'],
    describe: "the sidecar's receive limit: a larger component is not sent, e.g. 4MiB, 512KiB, 100000 (bytes)",
  },
  cacheSecrets: {
    scope: 'agent',
    group: 'agent',
    env: 'AGENT_CACHE_SECRETS',
    value: BOOLEAN,
    default: true,
    shownBy: ['run', 'apply', 'validate'],
    describe: 'keep namespaces with secret-looking values in the Apollo local cache (--no-cache-secrets: keep them out)',
  },

  output: {
    scope: 'command',
    value: { kind: 'choice', choices: ['text', 'json'] },
    default: 'text',
    shownBy: ['diff', 'apply', 'status'],
    describe: 'text for people, json for machines (apply: with --dry-run)',
  },
  color: { scope: 'command', value: BOOLEAN, shownBy: ['diff', 'apply'], describe: 'colour the text output (default: when stdout is a terminal)' },
  all: { scope: 'command', value: BOOLEAN, shownBy: ['apply'], describe: 'push every component, changed or not' },
  dryRun: { scope: 'command', value: BOOLEAN, shownBy: ['apply'], describe: 'only show what would be pushed (same as diff); changes nothing' },
  timeout: {
    scope: 'command',
    value: { kind: 'duration', minMs: 100, maxMs: MAX_DURATION_MS },
    default: '30s',
    shownBy: ['apply'],
    describe: 'how long to wait for the sidecar to accept everything, e.g. 10s, 2m (100ms to 24d)',
  },
  showSecrets: { scope: 'command', value: BOOLEAN, shownBy: ['render'], describe: 'print secret-looking values as they are' },
  fromLayotto: { scope: 'command', value: TEXT, required: true, shownBy: ['convert'], describe: "Layotto's static config file (config.json)" },
  to: {
    scope: 'command',
    value: { kind: 'choice', choices: ['properties', 'json', 'yaml'] },
    default: 'properties',
    shownBy: ['convert'],
    describe: 'namespace format to write',
  },
  agent: {
    scope: 'command',
    value: TEXT,
    default: 'http://127.0.0.1:34980',
    shownBy: ['status'],
    describe: "the agent's HTTP address, as run's --http (HOST:PORT or a URL)",
  },
} as const satisfies Record<string, OptionRow>;

export type OptionKey = keyof typeof OPTIONS;
type Table = typeof OPTIONS;
type AgentKey = { [K in OptionKey]: Table[K] extends { scope: 'agent' } ? K : never }[OptionKey];

/** The option's flag: its key in kebab-case. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

export function optionEntries(): [OptionKey, OptionRow][] {
  return Object.entries(OPTIONS) as [OptionKey, OptionRow][];
}

/** As a user writes a value in a file; flags and env give strings. */
type RawValue<V extends OptionValue> = V extends { kind: 'list' }
  ? string | string[]
  : V extends { kind: 'boolean' }
    ? boolean | string
    : V extends { kind: 'duration' | 'size' }
      ? string | number
      : V extends { kind: 'rules' }
        ? ComponentRule[]
        : string;

/** One layer of agent settings (flags, env or file), every field optional, keyed like the table. */
export type Settings = { [K in AgentKey]?: RawValue<Table[K]['value']> };
