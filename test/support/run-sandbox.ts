/**
 * The usual integration setup: a fake Apollo with one release of `application`, a fake
 * Layotto, a fresh state dir, and the real binary's `run` against them, all cleaned up after
 * the test (register `afterEach(runCleanups)` in the file).
 */
import { startFakeApollo, type FakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto, type FakeLayotto } from '../fakes/layotto-server.js';
import { runArgs, startAgent, type AgentProcess } from './agent-process.js';
import { onCleanup, tempDir } from './cleanups.js';

export interface RunSandbox {
  readonly apollo: FakeApollo;
  readonly sidecar: FakeLayotto;
  readonly agent: AgentProcess;
  readonly stateDir: string;
  /** The health server's address, from the 'agent started' log line. */
  readonly http: string;
}

export interface RunSandboxOptions {
  readonly appId: string;
  /** The first release of `application`. */
  readonly items: Readonly<Record<string, string>>;
  /** What the fake sidecar knows; default: any component. */
  readonly components?: readonly string[];
  readonly extraArgs?: readonly string[];
}

export async function startRunSandbox(options: RunSandboxOptions): Promise<RunSandbox> {
  const apollo = await startFakeApollo({ appId: options.appId });
  onCleanup(() => apollo.close());
  const sidecar = await startFakeLayotto(options.components ? { components: options.components } : {});
  onCleanup(() => sidecar.close());
  const stateDir = await tempDir('asa-run-');
  apollo.publish('application', options.items);
  const agent = startAgent([
    ...runArgs({ configService: apollo.url, appId: options.appId, sidecar: sidecar.address, stateDir }),
    ...(options.extraArgs ?? []),
  ]);
  onCleanup(() => agent.stop('SIGKILL'));
  const started = await agent.waitForLog((l) => l.message === 'agent started', 10_000, 'agent started');
  return { apollo, sidecar, agent, stateDir, http: String(started.http) };
}
