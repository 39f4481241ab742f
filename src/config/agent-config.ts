import type { ComponentRule } from '../mapper/rules.js';
import type { LogFormat, LogLevel } from '../observability/logger.js';

export interface ApolloSettings {
  readonly appId: string;
  readonly cluster: string;
  /** Lowest priority first. */
  readonly namespaces: readonly string[];
  readonly meta?: string;
  readonly configServices?: readonly string[];
  readonly accessKeySecret?: string;
  readonly label?: string;
  readonly ip?: string;
}

export interface HttpAddress {
  readonly host: string;
  readonly port: number;
}

/** The agent's configuration after precedence and validation: everything the core needs, typed. */
export interface AgentConfig {
  /** Absent when the agent runs from files alone. */
  readonly apollo?: ApolloSettings;
  /** File and directory sources, lowest priority first; they rank below Apollo namespaces. */
  readonly files: readonly string[];
  readonly components: readonly ComponentRule[];
  readonly sidecar: string;
  readonly stateDir: string;
  readonly http: HttpAddress | 'off';
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** 0 disables the periodic full re-push. */
  readonly resyncIntervalMs: number;
  /** The sidecar's receive limit: a component whose encoded request is larger is not sent. */
  readonly maxPushBytes: number;
  /** Whether the Apollo local cache may hold namespaces with secret-looking keys. */
  readonly cacheSecrets: boolean;
  /** Where the config came from, for SIGHUP re-reads. */
  readonly configFile?: string;
}
