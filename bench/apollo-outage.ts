/**
 * Figure 5b: many clients started together against one Apollo that then fails. 200 clients
 * hold their long-polls; Apollo drops every connection and answers 500 to everything for
 * `outageMs` (a release is published meanwhile, so recovery includes a fetch); then it heals.
 * Measured from the fake's request log: requests per second during and after the outage, the
 * most requests in any 100 ms window, and how long until every client had the new release.
 * Run once with 200 ApolloSource instances (the agent's client, in-process, logger silent)
 * and once with 200 reference clients (fixed 1 s pause after an error, no jitter) as the
 * baseline of what a synchronized stampede looks like.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { silentLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { ApolloSource } from '../src/sources/apollo/apollo-source.js';
import { startFakeApollo, type FakeApollo } from '../test/fakes/apollo-server.js';
import { startFakeLayotto, type FakeLayotto } from '../test/fakes/layotto-server.js';
import { waitUntil } from '../test/support/wait.js';
import { baseContent } from './namespace-fixtures.js';
import { runReferenceClient } from './reference-client.js';
import { histogram, maxInWindow } from './stats.js';

export type OutageClient = 'apollo-source' | 'reference';

export interface OutageOptions {
  readonly clients: number;
  readonly outageMs: number;
  /** How long after the outage ends requests are still counted (recovery and the quiet after). */
  readonly afterMs: number;
}

export interface OutageResult {
  readonly client: OutageClient;
  readonly clients: number;
  readonly outageMs: number;
  readonly duringRequests: number;
  readonly duringPerSecond: number;
  /** Most requests in any 100 ms window while Apollo failed. */
  readonly duringMax100ms: number;
  /** Requests per second of the outage, second by second. */
  readonly duringBySecond: readonly number[];
  /** Requests per 100 ms over the first two seconds: how the first retries spread. */
  readonly first2sBy100ms: readonly number[];
  readonly afterRequests: number;
  readonly afterMax100ms: number;
  readonly afterBySecond: readonly number[];
  /** From the end of the outage until every client held the release published during it. */
  readonly allRecoveredMs: number;
  readonly recovered: number;
}

const APP_ID = 'bench-outage';
const NAMESPACE = 'application';
const START_TIMEOUT_MS = 30_000;

interface Started {
  readonly stopAll: () => Promise<void>;
  /** How many clients hold the release published during the outage. */
  readonly recovered: () => number;
}

const MARKER_KEY = 'state.agent.releaseMarker';

async function settleAll(tasks: readonly Promise<void>[]): Promise<void> {
  await Promise.race([Promise.allSettled(tasks), delay(10_000, undefined, { ref: false })]);
}

function startSources(apollo: FakeApollo, count: number, marker: () => string, signal: AbortSignal): Started {
  const metrics = createMetrics(new Registry());
  const logger = silentLogger();
  const latest = new Array<string>(count).fill('');
  const tasks = Array.from({ length: count }, (_, index) =>
    new ApolloSource({ appId: APP_ID, namespaces: [NAMESPACE], configServices: [apollo.url], logger, metrics }).watch((snapshot) => {
      latest[index] = snapshot.namespaces[0]?.configurations[MARKER_KEY] ?? '';
    }, signal),
  );
  return { stopAll: () => settleAll(tasks), recovered: () => latest.filter((seen) => seen === marker()).length };
}

/** The reference client keeps no state to look at: each one that is through pushes the marker once. */
function startReferences(apollo: FakeApollo, sidecar: FakeLayotto, count: number, marker: () => string, signal: AbortSignal): Started {
  const options = { configService: apollo.url, appId: APP_ID, cluster: 'default', namespace: NAMESPACE, sidecar: sidecar.address };
  const tasks = Array.from({ length: count }, () => runReferenceClient(options, signal));
  return {
    stopAll: () => settleAll(tasks),
    recovered: () => sidecar.calls.filter((call) => call.metadata['releaseMarker'] === marker()).length,
  };
}

export async function measureOutage(client: OutageClient, options: OutageOptions): Promise<OutageResult> {
  const apollo = await startFakeApollo({ appId: APP_ID });
  const sidecar = await startFakeLayotto();
  const controller = new AbortController();
  // One signal stops every client, and each client listens on it from several places at once.
  setMaxListeners(0, controller.signal);
  let started: Started | undefined;
  try {
    let marker = 'initial';
    apollo.publish(NAMESPACE, { ...baseContent('agent'), [MARKER_KEY]: marker });
    started =
      client === 'apollo-source'
        ? startSources(apollo, options.clients, () => marker, controller.signal)
        : startReferences(apollo, sidecar, options.clients, () => marker, controller.signal);
    await waitUntil(() => apollo.openPolls() === options.clients, START_TIMEOUT_MS, `${options.clients} long-polls to be held`);

    apollo.setFault({ mode: 'status', status: 500 });
    await apollo.stop();
    await apollo.start();
    const outageFrom = Date.now();
    marker = `outage-${outageFrom}`;
    apollo.publish(NAMESPACE, { ...baseContent('agent'), [MARKER_KEY]: marker });
    await delay(options.outageMs);
    apollo.setFault(null);
    const outageTo = Date.now();

    const ready = started;
    let allRecoveredAt = Number.NaN;
    await waitUntil(
      () => {
        if (Number.isNaN(allRecoveredAt) && ready.recovered() >= options.clients) allRecoveredAt = Date.now();
        return Date.now() - outageTo >= options.afterMs;
      },
      options.afterMs + 5_000,
      'the observation after the outage',
    );
    const afterTo = Date.now();
    const recovered = ready.recovered();

    const times = (from: number, to: number): number[] =>
      apollo.requests.filter((r) => r.receivedAt >= from && r.receivedAt < to).map((r) => r.receivedAt);
    const during = times(outageFrom, outageTo);
    const after = times(outageTo, afterTo);
    return {
      client,
      clients: options.clients,
      outageMs: outageTo - outageFrom,
      duringRequests: during.length,
      duringPerSecond: during.length / ((outageTo - outageFrom) / 1000),
      duringMax100ms: maxInWindow(during, 100),
      duringBySecond: histogram(during, outageFrom, outageTo, 1000),
      first2sBy100ms: histogram(during, outageFrom, outageFrom + 2000, 100),
      afterRequests: after.length,
      afterMax100ms: maxInWindow(after, 100),
      afterBySecond: histogram(after, outageTo, afterTo, 1000),
      allRecoveredMs: allRecoveredAt - outageTo,
      recovered,
    };
  } finally {
    controller.abort();
    // Held polls end only when the server drops them; stopping Apollo first lets every client see the abort at once.
    await apollo.close();
    await started?.stopAll();
    await sidecar.close();
  }
}
