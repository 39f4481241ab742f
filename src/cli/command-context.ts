import type { AgentConfig } from '../config/agent-config.js';
import { loadAgentConfig } from '../config/load-config.js';
import type { OneShotContext } from '../app/one-shot.js';
import { KnownSecrets } from '../domain/masking.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { flagSettings, type GlobalArgs } from './global-options.js';

/** Where a command writes: results to stdout, logs and problems to stderr. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
}

export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

export function loadConfig(args: GlobalArgs): Promise<AgentConfig> {
  return loadAgentConfig({ flags: flagSettings(args), env: process.env });
}

/** A one-shot command's logger (stderr) and a private metrics registry nobody scrapes. */
export function oneShotContext(config: AgentConfig, io: CliIo): OneShotContext {
  const knownSecrets = new KnownSecrets();
  return {
    config,
    logger: createLogger({ level: config.logLevel, format: config.logFormat, stream: io.stderr, knownSecrets }),
    metrics: createMetrics(),
    knownSecrets,
  };
}

export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}
