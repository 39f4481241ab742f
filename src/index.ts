/**
 * The library API: run the agent inside another Node process, as Layotto's design allows.
 *
 *   import { createAgent, loadAgentConfig } from 'apollo-sidecar-agent';
 *   const config = await loadAgentConfig({ flags: { appId: 'orders', apolloMeta: 'http://meta:8080' }, env: process.env });
 *   const agent = createAgent({ config });
 *   agent.on('applied', (outcome) => console.log('applied', outcome.component.id));
 *   agent.on('rejected', (outcome) => console.warn('rejected', outcome.component.id, outcome.message));
 *   agent.on('error', (error) => console.warn(error.message));
 *   await agent.start();
 *   // ...
 *   await agent.stop();
 */
export { Agent, createAgent, type AgentEvents, type CreateAgentOptions } from './app/agent.js';
export type { AgentConfig, ApolloSettings, HttpAddress } from './config/agent-config.js';
export { loadAgentConfig, type ConfigInputs, type Settings } from './config/load-config.js';
export type { ComponentConfig, ComponentId, DesiredComponent, DesiredState } from './domain/component.js';
export { AgentError, ConfigError, MappingError, PushError, SourceError } from './domain/errors.js';
export type { NamespaceContent, SourceSnapshot } from './domain/snapshot.js';
export type { Readiness } from './observability/health-server.js';
export { createLogger, type Logger, type LoggerOptions } from './observability/logger.js';
export type { PushOutcome, PushResult } from './push/pusher.js';
export type { Source } from './sources/source.js';
