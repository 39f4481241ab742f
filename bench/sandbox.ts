/**
 * The loopback world the end-to-end figures run in: one fake Apollo, one fake Layotto, the
 * real agent binary and the reference client as child processes, each on its own namespace.
 * `close()` stops every one of them, whatever state the run left them in.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeApollo, type FakeApollo } from '../test/fakes/apollo-server.js';
import { startFakeLayotto, type FakeLayotto } from '../test/fakes/layotto-server.js';
import { runArgs, startAgent, type AgentProcess } from '../test/support/agent-process.js';
import { waitUntil } from '../test/support/wait.js';
import { NAMESPACE, baseContent, type Client } from './namespace-fixtures.js';
import { startReferenceProcess, type ReferenceProcess } from './reference-process.js';

export const APP_ID = 'bench-app';

export interface Sandbox {
  readonly apollo: FakeApollo;
  readonly sidecar: FakeLayotto;
  readonly agent: AgentProcess;
  readonly stateDir: string;
  /** Undefined once stopped. */
  reference: ReferenceProcess | undefined;
  /** Long-polls held right now by the clients still running. */
  expectedPolls(): number;
  /** Waits until every running client holds its long-poll, as it does when an operator releases. */
  waitForHeldPolls(timeoutMs?: number): Promise<void>;
  stopReference(): Promise<void>;
  /** Stops everything; resolves with how the agent exited on SIGTERM (0 after a clean drain). */
  close(): Promise<number | NodeJS.Signals>;
}

function pushedFor(sidecar: FakeLayotto, client: Client): boolean {
  return ['state', 'lock', 'sequencer'].every((kind) => sidecar.current(`${kind}/${client}`) !== undefined);
}

export interface SandboxOptions {
  /** Extra environment of the agent process, e.g. NODE_OPTIONS for --cpu-prof. */
  readonly agentEnv?: NodeJS.ProcessEnv;
  /** Node's own flags for the agent process, before the script (some are refused in NODE_OPTIONS). */
  readonly agentExecArgv?: readonly string[];
  /** Where the agent's state dir is created; the OS temp dir by default. */
  readonly stateDirParent?: string;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const apollo = await startFakeApollo({ appId: APP_ID });
  const sidecar = await startFakeLayotto();
  const stateDir = await mkdtemp(join(options.stateDirParent ?? tmpdir(), 'apollo-sidecar-agent-bench-'));
  apollo.publish(NAMESPACE.agent, baseContent('agent'));
  apollo.publish(NAMESPACE.reference, baseContent('reference'));
  let agent: AgentProcess | undefined;
  let reference: ReferenceProcess | undefined;
  const close = async (): Promise<void> => {
    await reference?.stop();
    await agent?.stop('SIGTERM');
    await apollo.close();
    await sidecar.close();
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    agent = startAgent(
      runArgs({ configService: apollo.url, appId: APP_ID, namespaces: [NAMESPACE.agent], sidecar: sidecar.address, stateDir }),
      options.agentEnv,
      { execArgv: options.agentExecArgv ?? [] },
    );
    await agent.waitForLog((line) => line.message === 'agent started', 15_000, 'the agent to start');
    await waitUntil(() => pushedFor(sidecar, 'agent'), 15_000, 'the agent to push its initial set');
    reference = await startReferenceProcess({
      configService: apollo.url,
      appId: APP_ID,
      namespace: NAMESPACE.reference,
      sidecar: sidecar.address,
    });
    await waitUntil(() => pushedFor(sidecar, 'reference'), 15_000, 'the reference client to push its initial set');
  } catch (error) {
    await close();
    throw error;
  }
  const started = agent;
  const sandbox: Sandbox = {
    apollo,
    sidecar,
    agent: started,
    stateDir,
    reference,
    expectedPolls: () => (sandbox.reference ? 2 : 1),
    waitForHeldPolls: (timeoutMs = 5_000) =>
      waitUntil(() => apollo.openPolls() === sandbox.expectedPolls(), timeoutMs, 'every long-poll to be held'),
    async stopReference() {
      const current = sandbox.reference;
      sandbox.reference = undefined;
      await current?.stop();
    },
    async close() {
      await sandbox.stopReference();
      const exit = await started.stop('SIGTERM');
      await apollo.close();
      await sidecar.close();
      await rm(stateDir, { recursive: true, force: true });
      return exit;
    },
  };
  return sandbox;
}
