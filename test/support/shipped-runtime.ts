/**
 * The runtime settings the agent ships with: Node's flags from the container image's ENTRYPOINT
 * (between `node` and the script) and the process-level variables of its ENV (glibc's, libuv's;
 * not the agent's own AGENT_* configuration). The benchmark runs the agent, bare `node` and the
 * 100,000-key mapping under them, and a test runs the binary under them, so that what is
 * measured and tested is what ships.
 */
import { runtimeStage } from '../deploy/dockerfile.js';

/** Node's flags and environment settings a process runs under. */
export interface NodeRuntime {
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Variables of the image's ENV that configure the agent rather than the process. */
const AGENT_CONFIGURATION = /^(?:AGENT_|APOLLO_|NODE_ENV$)/;

export const NODE_DEFAULTS: NodeRuntime = { execArgv: [], env: {} };

export async function shippedRuntime(): Promise<NodeRuntime> {
  const stage = await runtimeStage();
  const [node, ...rest] = stage.entrypoint;
  if (node !== 'node' || rest.length === 0) throw new Error(`the image's ENTRYPOINT is not node <flags> <script>: ${JSON.stringify(stage.entrypoint)}`);
  return {
    execArgv: rest.slice(0, -1),
    env: Object.fromEntries(Object.entries(stage.env).filter(([key]) => !AGENT_CONFIGURATION.test(key))),
  };
}

export const describeRuntime = (runtime: NodeRuntime): string =>
  [...Object.entries(runtime.env).map(([key, value]) => `${key}=${value}`), 'node', ...runtime.execArgv].join(' ');
