import type { Argv } from 'yargs';
import { DEFAULTS, type Settings } from '../config/load-config.js';

/**
 * The options every command takes (CONTRACT.md section 3). None has a yargs default or env
 * binding: precedence flag > env > file > default is resolved in one place, config/.
 */
export function withGlobalOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('config', { alias: 'c', type: 'string', describe: 'agent config file, YAML or JSON [env AGENT_CONFIG]' })
    .option('apollo-meta', { type: 'string', describe: 'Apollo meta server URL [env APOLLO_META]' })
    .option('apollo-config-service', {
      type: 'string',
      describe: 'Apollo config service URL(s), comma-separated; skips the meta server [env APOLLO_CONFIG_SERVICE]',
    })
    .option('app-id', { type: 'string', describe: 'Apollo appId; required when Apollo is a source [env APOLLO_APP_ID]' })
    .option('cluster', { type: 'string', describe: `Apollo cluster [env APOLLO_CLUSTER] (default: ${DEFAULTS.cluster})` })
    .option('namespace', {
      type: 'string',
      array: true,
      describe: 'Apollo namespace, repeatable, lowest priority first [env APOLLO_NAMESPACES, comma list] (default: application)',
    })
    .option('access-key-secret', { type: 'string', describe: 'Apollo access key secret: signs every request [env APOLLO_ACCESS_KEY_SECRET]' })
    .option('access-key-secret-file', {
      type: 'string',
      describe: 'read the access key secret from this file, keeping it out of the process list [env APOLLO_ACCESS_KEY_SECRET_FILE]',
    })
    .option('label', { type: 'string', describe: 'Apollo grayscale label [env APOLLO_LABEL]' })
    .option('ip', { type: 'string', describe: "client IP reported to Apollo for grayscale rules [env APOLLO_IP] (default: the host's first non-internal IPv4)" })
    .option('file', {
      type: 'string',
      array: true,
      describe: 'file source: a file or a directory (mounted ConfigMap), repeatable; ranks below Apollo namespaces [env AGENT_FILES, comma list]',
    })
    .option('sidecar', { type: 'string', describe: `Layotto gRPC address HOST:PORT [env SIDECAR_ADDRESS] (default: ${DEFAULTS.sidecar})` })
    .option('state-dir', {
      type: 'string',
      describe: `ledger and Apollo local cache [env AGENT_STATE_DIR] (default: ${DEFAULTS.stateDir})`,
    })
    .option('http', {
      type: 'string',
      describe: `/healthz, /readyz, /metrics address HOST:PORT or off; only run serves it [env AGENT_HTTP] (default: ${DEFAULTS.http})`,
    })
    .option('log-level', { type: 'string', choices: ['error', 'warn', 'info', 'debug'], describe: 'log level [env LOG_LEVEL] (default: info)' })
    .option('log-format', { type: 'string', choices: ['json', 'pretty'], describe: 'log format [env LOG_FORMAT] (default: json)' })
    .option('resync-interval', {
      type: 'string',
      describe: `periodic full re-push, e.g. 30s, 5m; 0 turns it off [env AGENT_RESYNC_INTERVAL] (default: ${DEFAULTS.resyncInterval})`,
    })
    .option('max-push-bytes', {
      type: 'string',
      describe: `the sidecar's receive limit: a larger component is not sent, e.g. 4MiB, 512KiB, 100000 [env AGENT_MAX_PUSH_BYTES] (default: ${DEFAULTS.maxPushBytes})`,
    })
    .option('cache-secrets', {
      type: 'boolean',
      describe: 'keep namespaces with secret-looking keys in the Apollo local cache; --no-cache-secrets keeps them out [env AGENT_CACHE_SECRETS] (default: true)',
    })
    .group(
      [
        'config',
        'apollo-meta',
        'apollo-config-service',
        'app-id',
        'cluster',
        'namespace',
        'access-key-secret',
        'access-key-secret-file',
        'label',
        'ip',
        'file',
        'sidecar',
        'state-dir',
        'http',
        'log-level',
        'log-format',
        'resync-interval',
        'max-push-bytes',
        'cache-secrets',
      ],
      'Agent options (flag > env > config file > default):',
    );
}

export interface GlobalArgs {
  config?: string;
  apolloMeta?: string;
  apolloConfigService?: string;
  appId?: string;
  cluster?: string;
  namespace?: string[];
  accessKeySecret?: string;
  accessKeySecretFile?: string;
  label?: string;
  ip?: string;
  file?: string[];
  sidecar?: string;
  stateDir?: string;
  http?: string;
  logLevel?: string;
  logFormat?: string;
  resyncInterval?: string;
  maxPushBytes?: string;
  cacheSecrets?: boolean;
}

/** The flags the user actually gave, in the config loader's vocabulary. */
export function flagSettings(args: GlobalArgs): Settings & { config?: string } {
  return {
    config: args.config,
    apolloMeta: args.apolloMeta,
    apolloConfigService: args.apolloConfigService,
    appId: args.appId,
    cluster: args.cluster,
    namespace: args.namespace,
    accessKeySecret: args.accessKeySecret,
    accessKeySecretFile: args.accessKeySecretFile,
    label: args.label,
    ip: args.ip,
    file: args.file,
    sidecar: args.sidecar,
    stateDir: args.stateDir,
    http: args.http,
    logLevel: args.logLevel,
    logFormat: args.logFormat,
    resyncInterval: args.resyncInterval,
    maxPushBytes: args.maxPushBytes,
    cacheSecrets: args.cacheSecrets,
  };
}
