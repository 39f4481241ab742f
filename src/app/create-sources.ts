import { join } from 'node:path';
import type { AgentConfig } from '../config/agent-config.js';
import type { Logger } from '../observability/logger.js';
import type { AgentMetrics } from '../observability/metrics.js';
import { ApolloSource } from '../sources/apollo/apollo-source.js';
import { FileSource } from '../sources/file/file-source.js';
import type { Source } from '../sources/source.js';

/**
 * The sources a config asks for, lowest priority first: files are the base (the "File Agent"
 * boot-time dump), Apollo namespaces override them, so a switch flipped in Apollo always wins.
 */
export function createSources(config: AgentConfig, logger: Logger, metrics: AgentMetrics): Source[] {
  const sources: Source[] = [];
  if (config.files.length > 0) sources.push(new FileSource({ paths: config.files, logger }));
  if (config.apollo) {
    const { apollo } = config;
    sources.push(
      new ApolloSource({
        appId: apollo.appId,
        cluster: apollo.cluster,
        namespaces: apollo.namespaces,
        ...(apollo.configServices ? { configServices: apollo.configServices } : {}),
        ...(apollo.meta ? { meta: [apollo.meta] } : {}),
        ...(apollo.accessKeySecret ? { accessKeySecret: apollo.accessKeySecret } : {}),
        ...(apollo.label ? { label: apollo.label } : {}),
        ...(apollo.ip ? { ip: apollo.ip } : {}),
        cacheDir: join(config.stateDir, 'apollo-cache'),
        cacheSecrets: config.cacheSecrets,
        logger,
        metrics,
      }),
    );
  }
  return sources;
}

/** Whether two configs read from the same places (a reload that can keep its sources running). */
export function sameSources(a: AgentConfig, b: AgentConfig): boolean {
  return JSON.stringify([a.apollo, a.files, a.stateDir]) === JSON.stringify([b.apollo, b.files, b.stateDir]);
}
