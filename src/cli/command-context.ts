import { isAbsolute, relative } from 'node:path';
import type { AgentConfig } from '../config/agent-config.js';
import { loadAgentConfig, type Settings } from '../config/load-config.js';
import type { OneShotContext } from '../app/one-shot.js';
import { KnownSecrets } from '../domain/masking.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { SettingError, systemErrorLine } from './error-lines.js';
import { flagSettings } from './options.js';

/** Where a command writes: results to stdout, logs and problems to stderr. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
}

export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

/** A one-shot command's output is its answer: its log says only what went wrong, unless asked for more. */
const ONE_SHOT_DEFAULTS: Settings = { logLevel: 'warn' };

export function loadConfig(args: Readonly<Record<string, unknown>>, defaults?: Settings): Promise<AgentConfig> {
  return loadAgentConfig({ flags: flagSettings(args), env: process.env, ...(defaults ? { defaults } : {}) });
}

/** A one-shot command's logger (stderr) and a private metrics registry nobody scrapes. */
function oneShotContext(config: AgentConfig, io: CliIo, readOnly: boolean): OneShotContext {
  const knownSecrets = new KnownSecrets();
  return {
    config,
    readOnly,
    logger: createLogger({ level: config.logLevel, format: config.logFormat, stream: io.stderr, knownSecrets }),
    metrics: createMetrics(),
    knownSecrets,
  };
}

/**
 * Loads the config of a one-shot command (`diff`, `apply`, `render`, `validate`) and runs it;
 * an operating-system error in the state dir comes back naming `--state-dir`.
 */
export async function withOneShotContext(
  args: Readonly<Record<string, unknown>>,
  io: CliIo,
  mode: { readonly readOnly: boolean },
  body: (context: OneShotContext) => Promise<number>,
): Promise<number> {
  const config = await loadConfig(args, ONE_SHOT_DEFAULTS);
  try {
    return await body(oneShotContext(config, io, mode.readOnly));
  } catch (error) {
    throw attributeToSetting(error, config);
  }
}

/** An OS error in the state dir or on the HTTP address, as a one-line error that names the setting. */
export function attributeToSetting(error: unknown, config: AgentConfig): unknown {
  const path = (error as { path?: unknown } | undefined)?.path;
  const inStateDir = typeof path === 'string' && !relative(config.stateDir, path).startsWith('..') && !isAbsolute(relative(config.stateDir, path));
  const line = systemErrorLine(error, {
    ...(inStateDir ? { path: `choose another --state-dir (AGENT_STATE_DIR), or one this user (uid ${process.getuid?.() ?? '?'}) can write` } : {}),
    listen: 'give another --http address (AGENT_HTTP) or --http off',
  });
  return line ? new SettingError(line, { cause: error }) : error;
}

export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}
