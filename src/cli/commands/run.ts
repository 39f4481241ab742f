import { Registry } from 'prom-client';
import { createAgent } from '../../app/agent.js';
import { ConfigError, errorMessage } from '../../domain/errors.js';
import { KnownSecrets } from '../../domain/masking.js';
import { createLogger } from '../../observability/logger.js';
import { registerProcessMetrics } from '../../observability/metrics.js';
import { collectWhenQuiet, exposedGc } from '../collect-when-quiet.js';
import { attributeToSetting, loadConfig, type CliIo } from '../command-context.js';

/**
 * The long-running agent. Resolves with the exit code once a SIGTERM/SIGINT drain is done;
 * a second signal during the drain exits at once. SIGHUP re-reads the config file.
 */
export async function runCommand(args: Readonly<Record<string, unknown>>, io: CliIo): Promise<number> {
  const config = await loadConfig(args);
  const knownSecrets = new KnownSecrets();
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, stream: io.stderr, batchPerTurn: true, knownSecrets });
  const registry = new Registry();
  registerProcessMetrics(registry);
  const agent = createAgent({ config, logger, registry, knownSecrets });
  agent.on('error', () => {
    // Already logged where it happened; the listener keeps EventEmitter from throwing it.
  });
  const collect = exposedGc();
  const stopCollecting = collect ? collectWhenQuiet({ agent, collect, logger }) : undefined;

  const stopped = new Promise<number>((resolveExit) => {
    let stopping = false;
    const onStop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn('second signal: exiting at once', { signal });
        process.exit(1);
      }
      stopping = true;
      logger.info('stopping', { signal });
      agent.stop().then(
        () => resolveExit(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error: errorMessage(error) });
          resolveExit(1);
        },
      );
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  });

  process.on('SIGHUP', () => {
    logger.info('SIGHUP: re-reading the agent config', { config: config.configFile ?? '(no file: flags and env only)' });
    loadConfig(args)
      .then((next) => agent.reload(next))
      .then(() => agent.metrics.configReloads.inc({ result: 'success' }))
      .catch((error: unknown) => {
        agent.metrics.configReloads.inc({ result: 'failure' });
        const problems = error instanceof ConfigError ? error.problems : [];
        logger.error('config reload rejected; the running config stays', { error: errorMessage(error), problems });
      });
  });

  // The agent's own timers are unref'd (a library must not hold its host open), and between
  // two long-polls nothing else may be pending: without this the process would just end.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    try {
      await agent.start();
    } catch (error) {
      await agent.stop().catch(() => undefined);
      throw attributeToSetting(error, config);
    }
    return await stopped;
  } finally {
    stopCollecting?.();
    clearInterval(keepAlive);
  }
}
