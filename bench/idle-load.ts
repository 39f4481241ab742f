/**
 * Figures 4 (idle CPU, steady RSS) and 5a (Apollo requests of one idle agent), each in a
 * window with no release, reading the agent's and the reference client's CPU time and RSS
 * from /proc at both ends.
 * - Idle: Apollo holds polls for its real 60 s, so the window is what an agent costs between
 *   releases.
 * - Apollo load: the fake holds polls for a short `holdMs` so the window sees several polls.
 *   The agent's 5-minute safety refresh cannot fire in such a window, so an ApolloSource in
 *   this process, against its own fake with a short refresh interval, shows that the refresh
 *   costs one /configs request per namespace per interval.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { silentLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { ApolloSource } from '../src/sources/apollo/apollo-source.js';
import { startFakeApollo, type RecordedRequest } from '../test/fakes/apollo-server.js';
import { waitUntil } from '../test/support/wait.js';
import { NAMESPACE, baseContent } from './namespace-fixtures.js';
import { cpuPercent, megabytes, sampleProcess, type ProcessSample } from './proc-stats.js';
import { APP_ID, type Sandbox } from './sandbox.js';

export interface WindowUsage {
  readonly windowMs: number;
  readonly agentCpuPercent: number;
  readonly agentCpuMs: number;
  readonly referenceCpuPercent: number;
  readonly agentRssMb: number;
  readonly referenceRssMb: number;
  /** ApplyConfiguration calls in the window (there is no change, so none is expected). */
  readonly pushesInWindow: number;
  readonly from: number;
  readonly to: number;
}

export interface ApolloLoadOptions {
  readonly windowMs: number;
  readonly holdMs: number;
  /** Of the in-process ApolloSource that demonstrates the refresh. */
  readonly refreshIntervalMs: number;
}

export interface ApolloLoadResult extends WindowUsage {
  readonly holdMs: number;
  /** Requests the agent made in the window, by kind. */
  readonly agentPolls: number;
  readonly agentFetches: number;
  /** Polls a client holding every poll for `holdMs` makes in the window. */
  readonly expectedPolls: number;
  readonly refreshSource: { readonly refreshIntervalMs: number; readonly polls: number; readonly fetches: number; readonly expectedFetches: number };
}

/** CPU and RSS of both clients over `windowMs`, while `alongside` runs in this process. */
async function usageOver<T>(
  sandbox: Sandbox,
  windowMs: number,
  alongside: (window: Promise<void>) => Promise<T>,
): Promise<{ usage: WindowUsage; alongside: T }> {
  const reference = sandbox.reference;
  if (!reference) throw new Error('the idle figures need the reference client running');
  const agentPid = sandbox.agent.child.pid!;
  const calls = sandbox.sidecar.calls.length;
  const window = delay(windowMs, undefined, { ref: false });
  const side = alongside(window);
  const from = Date.now();
  const agentStart: ProcessSample = sampleProcess(agentPid);
  const referenceStart = sampleProcess(reference.pid);
  await window;
  const agentEnd = sampleProcess(agentPid);
  const referenceEnd = sampleProcess(reference.pid);
  const to = Date.now();
  const usage: WindowUsage = {
    windowMs: to - from,
    agentCpuPercent: cpuPercent(agentStart, agentEnd),
    agentCpuMs: agentEnd.cpuMs - agentStart.cpuMs,
    referenceCpuPercent: cpuPercent(referenceStart, referenceEnd),
    agentRssMb: megabytes(agentEnd.rssBytes),
    referenceRssMb: megabytes(referenceEnd.rssBytes),
    pushesInWindow: sandbox.sidecar.calls.length - calls,
    from,
    to,
  };
  return { usage, alongside: await side };
}

/** Both clients idle, every long-poll held for Apollo's full hold. */
export async function measureIdle(sandbox: Sandbox, windowMs: number): Promise<WindowUsage> {
  await sandbox.waitForHeldPolls();
  return (await usageOver(sandbox, windowMs, (window) => window)).usage;
}

function forNamespace(request: RecordedRequest, namespace: string): boolean {
  if (request.kind === 'configs') return request.segments[3] === namespace;
  return request.kind === 'notifications' && (request.query['notifications'] ?? '').includes(`"${namespace}"`);
}

/** Counts what one ApolloSource asks of Apollo over the window, with a short refresh interval. */
async function refreshSourceLoad(options: ApolloLoadOptions, window: Promise<void>): Promise<ApolloLoadResult['refreshSource']> {
  const apollo = await startFakeApollo({ appId: APP_ID, holdMs: options.holdMs });
  const controller = new AbortController();
  let watching: Promise<void> | undefined;
  try {
    apollo.publish('application', baseContent('agent'));
    const source = new ApolloSource({
      appId: APP_ID,
      namespaces: ['application'],
      configServices: [apollo.url],
      refreshIntervalMs: options.refreshIntervalMs,
      logger: silentLogger(),
      metrics: createMetrics(new Registry()),
    });
    let delivered = false;
    watching = source.watch(() => {
      delivered = true;
    }, controller.signal);
    await waitUntil(() => delivered && apollo.openPolls() === 1, 10_000, 'the refresh source to start');
    const from = Date.now();
    await window;
    const to = Date.now();
    const inWindow = apollo.requests.filter((r) => r.receivedAt >= from && r.receivedAt < to);
    return {
      refreshIntervalMs: options.refreshIntervalMs,
      polls: inWindow.filter((r) => r.kind === 'notifications').length,
      fetches: inWindow.filter((r) => r.kind === 'configs').length,
      expectedFetches: Math.floor((to - from) / options.refreshIntervalMs),
    };
  } finally {
    controller.abort();
    await Promise.race([watching, delay(5_000, undefined, { ref: false })]);
    await apollo.close();
  }
}

/** Both clients idle under a short hold; what the agent asks of Apollo. */
export async function measureApolloLoad(sandbox: Sandbox, options: ApolloLoadOptions): Promise<ApolloLoadResult> {
  const { apollo } = sandbox;
  // Held polls keep the hold they started with: re-release the same content so both re-poll under the short hold.
  await sandbox.waitForHeldPolls();
  apollo.setHoldMs(options.holdMs);
  const cycledAt = Date.now();
  for (const client of ['agent', 'reference'] as const) {
    const current = apollo.release(NAMESPACE[client]);
    apollo.publish(NAMESPACE[client], { ...(current?.configurations ?? baseContent(client)) });
  }
  const heldShort = (): number =>
    apollo.requests.filter((r) => r.kind === 'notifications' && r.receivedAt > cycledAt && r.status === 0).length;
  await waitUntil(() => apollo.openPolls() === sandbox.expectedPolls() && heldShort() === sandbox.expectedPolls(), 10_000, 'both clients to hold a short poll');

  const { usage: window, alongside: refreshSource } = await usageOver(sandbox, options.windowMs, (w) => refreshSourceLoad(options, w));
  const agentRequests = apollo.requests.filter((r) => r.receivedAt >= window.from && r.receivedAt < window.to && forNamespace(r, NAMESPACE.agent));
  return {
    ...window,
    holdMs: options.holdMs,
    agentPolls: agentRequests.filter((r) => r.kind === 'notifications').length,
    agentFetches: agentRequests.filter((r) => r.kind === 'configs').length,
    expectedPolls: Math.round(window.windowMs / options.holdMs),
    refreshSource,
  };
}
