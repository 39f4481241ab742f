import type { AgentConfig } from '../../src/config/agent-config.js';
import { DEFAULT_MAX_PUSH_BYTES } from '../../src/push/pusher.js';

/**
 * The config of an in-process agent under test: no HTTP, no periodic resync, debug logs; the
 * sources come from the test (`CreateAgentOptions.sources`), so none are configured.
 */
export function inProcessAgentConfig(target: { sidecar: string; stateDir: string }, overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    files: [],
    components: [],
    sidecar: target.sidecar,
    stateDir: target.stateDir,
    http: 'off',
    logLevel: 'debug',
    logFormat: 'json',
    resyncIntervalMs: 0,
    maxPushBytes: DEFAULT_MAX_PUSH_BYTES,
    cacheSecrets: true,
    ...overrides,
  };
}
