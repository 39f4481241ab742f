/**
 * A diagnostic, not a figure: the agent in-process (createAgent, the library API) against the
 * fakes, releases one at a time with the long-poll held, and where each release's time goes,
 * read from the fakes' own timestamps:
 *   notify  publish → the agent's /configs request arrives (poll answer read, parsed, fetch sent)
 *   fetch   /configs received → answered by the fake
 *   apply   /configs answered → ApplyConfiguration received (body read, parsed, mapped, planned, pushed)
 * and, finer, from marks set around the agent's own stage methods: high-resolution ms after
 * the publish at which each call starts and ends, numbered per release (`#1` is the first call
 * of that method after the publish; a call already running at the publish shows only its end).
 * Run under the profiler to see functions:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-release.ts \
 *     [--releases 200] [--state-dir-parent DIR] [--log-level info]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Agent, createAgent } from '../src/app/agent.js';
import { createLogger } from '../src/observability/logger.js';
import { ReleaseGate } from '../src/app/release-gate.js';
import { ComponentQueue } from '../src/push/component-queue.js';
import { PushSlots } from '../src/push/push-slots.js';
import { Pusher } from '../src/push/pusher.js';
import { GrpcSidecarClient } from '../src/sidecar/grpc-sidecar-client.js';
import { ApolloHttp } from '../src/sources/apollo/apollo-http.js';
import { NamespaceCache } from '../src/sources/apollo/namespace-cache.js';
import { startFakeApollo } from '../test/fakes/apollo-server.js';
import { startFakeLayotto } from '../test/fakes/layotto-server.js';
import { waitUntil } from '../test/support/wait.js';
import { NAMESPACE, baseContent, benchComponentId } from './namespace-fixtures.js';
import { round, summarize } from './stats.js';

const { values: args } = parseArgs({
  options: {
    releases: { type: 'string', default: '200' },
    'state-dir-parent': { type: 'string', default: tmpdir() },
    'log-level': { type: 'string', default: 'info' },
  },
});
const releases = Number(args.releases);
const logLevelSchema = z.enum(['error', 'warn', 'info', 'debug']);
const APP_ID = 'bench-app';

const marks = new Map<string, number>();
let origin = 0;

const callCounts = new Map<string, number>();

/**
 * Records, after `origin`, when each call of `method` starts and (for a promise, settles),
 * numbered per release (`http get #2 end`); behaviour unchanged.
 */
function mark(proto: object, method: string, label: string): void {
  const original = Reflect.get(proto, method) as (...args: unknown[]) => unknown;
  const note = (what: string): void => {
    if (!marks.has(what)) marks.set(what, performance.now() - origin);
  };
  Reflect.set(proto, method, function (this: unknown, ...args: unknown[]): unknown {
    const n = (callCounts.get(label) ?? 0) + 1;
    callCounts.set(label, n);
    note(`${label} #${n} start`);
    const result = original.apply(this, args);
    if (result instanceof Promise) {
      result.then(
        () => note(`${label} #${n} end`),
        () => note(`${label} #${n} end`),
      );
    } else note(`${label} #${n} end`);
    return result;
  });
}

mark(ApolloHttp.prototype, 'get', 'http get');
mark(NamespaceCache.prototype, 'write', 'cache write');
mark(ReleaseGate.prototype, 'accept', 'gate accept');
mark(ReleaseGate.prototype, 'desired', 'map layers');
mark(Agent.prototype, 'reconcile', 'reconcile');
mark(Pusher.prototype, 'submit', 'pusher submit');
mark(GrpcSidecarClient.prototype, 'apply', 'grpc apply');
mark(Agent.prototype, 'onSnapshot', 'agent onSnapshot');
mark(Agent.prototype, 'onOutcome', 'agent onOutcome');
mark(PushSlots.prototype, 'tryAcquire', 'push slot');
mark(ComponentQueue.prototype, 'deliver', 'queue deliver');
const markSamples = new Map<string, number[]>();


/** The agent formats every log line as it would for stderr; the bytes go nowhere. */
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });

const apollo = await startFakeApollo({ appId: APP_ID });
const sidecar = await startFakeLayotto();
const stateDir = await mkdtemp(join(args['state-dir-parent'], 'apollo-sidecar-agent-profile-'));
apollo.publish(NAMESPACE.agent, baseContent('agent'));
const agent = createAgent({
  config: {
    apollo: { appId: APP_ID, cluster: 'default', namespaces: [NAMESPACE.agent], configServices: [apollo.url] },
    files: [],
    components: [],
    sidecar: sidecar.address,
    stateDir,
    http: 'off',
    logLevel: 'info',
    logFormat: 'json',
    resyncIntervalMs: 300_000,
    maxPushBytes: 4 * 1024 * 1024,
    cacheSecrets: true,
  },
  logger: createLogger({ stream: discard, level: logLevelSchema.parse(args['log-level']) }),
});
agent.on('error', () => undefined);
const stages = { notify: [] as number[], fetch: [] as number[], apply: [] as number[], total: [] as number[] };
try {
  await agent.start();
  const id = benchComponentId('agent');
  await waitUntil(() => sidecar.current(id) !== undefined, 10_000, 'the initial push');
  for (let seq = 1; seq <= releases; seq += 1) {
    await waitUntil(() => apollo.openPolls() === 1, 5_000, 'the long-poll to be held');
    const from = apollo.requests.length;
    const calls = sidecar.calls.length;
    marks.clear();
    callCounts.clear();
    // The fakes run in this process: their high-resolution marks share this clock.
    origin = performance.now();
    apollo.publish(NAMESPACE.agent, { ...apollo.release(NAMESPACE.agent)!.configurations, 'state.agent.seq': String(seq) });
    await sidecar.waitFor((s) => s.current(id)?.seq === String(seq), 5_000);
    const configs = apollo.requests.slice(from).find((r) => r.kind === 'configs');
    const call = sidecar.calls.slice(calls).find((c) => c.id === id);
    if (configs?.answeredAtHr === undefined || !call) throw new Error('a release left no trace in the fakes');
    stages.notify.push(configs.receivedAtHr - origin);
    stages.fetch.push(configs.answeredAtHr - configs.receivedAtHr);
    stages.apply.push(call.receivedAtHr - configs.answeredAtHr);
    stages.total.push(call.receivedAtHr - origin);
    for (const [label, at] of marks) markSamples.set(label, [...(markSamples.get(label) ?? []), at]);
  }
  const ordered = [...markSamples].sort((a, b) => summarize(a[1]).p50 - summarize(b[1]).p50);
  for (const [label, samples] of ordered) {
    const s = summarize(samples);
    console.log(`${label.padEnd(20)} p50 ${round(s.p50, 2)} ms  mean ${round(s.mean, 2)}  p95 ${round(s.p95, 2)}`);
  }
  for (const [stage, samples] of Object.entries(stages)) {
    const s = summarize(samples);
    console.log(`${stage.padEnd(7)} mean ${round(s.mean, 2)} ms  p50 ${round(s.p50, 2)}  p95 ${round(s.p95, 2)}  max ${round(s.max, 2)}`);
  }
} finally {
  await agent.stop();
  await apollo.close();
  await sidecar.close();
  await rm(stateDir, { recursive: true, force: true });
}
