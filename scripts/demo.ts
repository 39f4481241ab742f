/**
 * `npm run demo`: the whole product in one command, on loopback only. Starts a fake Apollo
 * config service and a fake Layotto sidecar (the same fakes the tests use, speaking the real
 * protocols), runs the real agent binary against them, flips `state.redis.disasterSwitch`
 * from off to on the way an operator would in the Apollo portal, and shows the sidecar
 * receiving the complete new `state/redis` configuration, and nothing else.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runArgs, startAgent, type LogLine } from '../test/support/agent-process.js';
import { startFakeApollo } from '../test/fakes/apollo-server.js';
import { startFakeLayotto } from '../test/fakes/layotto-server.js';
import { waitUntil } from '../test/support/wait.js';
import { maskMetadata } from '../src/domain/masking.js';

const APP_ID = 'orders-service';
const tty = process.stdout.isTTY === true;
const paint = (code: number, text: string): string => (tty ? `\u001b[${code}m${text}\u001b[0m` : text);
const step = (text: string): void => console.log(`\n${paint(1, `▶ ${text}`)}`);
const show = (label: string, value: unknown): void => console.log(`  ${paint(2, label)} ${JSON.stringify(value)}`);

const apollo = await startFakeApollo({ appId: APP_ID });
const sidecar = await startFakeLayotto();
const stateDir = await mkdtemp(join(tmpdir(), 'apollo-sidecar-agent-demo-'));
let agent: ReturnType<typeof startAgent> | undefined;

try {
  step('Sandbox: a fake Apollo config service and a fake Layotto sidecar on loopback');
  apollo.publish('application', {
    'state.redis.redisHost': '10.0.0.12:6379',
    'state.redis.redisPassword': 's3cret',
    'state.redis.disasterSwitch': 'off',
    'lock.redis.redisHost': '10.0.0.12:6379',
    'sequencer.redis.redisHost': '10.0.0.12:6379',
  });
  console.log(`  Apollo  ${apollo.url}  (appId ${APP_ID}, namespace application, 5 keys)`);
  console.log(`  Layotto ${sidecar.address}  (Lifecycle/ApplyConfiguration)`);

  step('Starting the agent: apollo-sidecar-agent run');
  agent = startAgent(runArgs({ configService: apollo.url, appId: APP_ID, sidecar: sidecar.address, stateDir }));
  const started = await agent.waitForLog((l) => l.message === 'agent started', 10_000, 'the agent to start');
  await sidecar.waitFor((s) => ['state/redis', 'lock/redis', 'sequencer/redis'].every((id) => s.current(id)), 10_000);
  console.log('  initial sync: the sidecar received the full desired set');
  for (const call of sidecar.calls) show(`    ${call.id.padEnd(16)}`, maskMetadata(call.metadata));

  const http = String(started.http);
  const readyz = await fetch(`http://${http}/readyz`);
  console.log(`  GET /readyz → ${readyz.status}`);

  // An operator releases long after start-up; wait until the agent's long-poll is held, as it is then.
  await waitUntil(() => apollo.openPolls() === 1, 5_000, 'the long-poll to be held');
  step('Operator flips state.redis.disasterSwitch off → on in Apollo and releases');
  const before = sidecar.calls.length;
  const isRedisApplied = (l: LogLine): boolean => l.message === 'applied' && l.component === 'state/redis';
  const appliedBefore = agent.logs().filter(isRedisApplied).length;
  const releasedAt = Date.now();
  apollo.publish('application', { ...apollo.release('application')!.configurations, 'state.redis.disasterSwitch': 'on' });
  await sidecar.waitFor((s) => s.current('state/redis')?.disasterSwitch === 'on', 10_000);
  const receivedAt = sidecar.callsFor('state/redis').at(-1)!.receivedAt;
  await agent.waitForLog(() => agent!.logs().filter(isRedisApplied).length > appliedBefore, 10_000, 'the agent to report the apply');
  const applied = agent.logs().filter(isRedisApplied).at(-1)!;
  const newCalls = sidecar.calls.slice(before);
  console.log(`  the sidecar received ${newCalls.length} call(s) ${releasedAt <= receivedAt ? `${receivedAt - releasedAt} ms after the release` : ''}:`);
  for (const call of newCalls) show(`    ${call.id.padEnd(16)}`, maskMetadata(call.metadata));
  console.log(`  release-to-apply latency reported by the agent: ${String(applied.latencyMs)} ms`);
  console.log('  lock/redis and sequencer/redis were not touched: only the changed component is pushed, with its full metadata');

  const metrics = await (await fetch(`http://${http}/metrics`)).text();
  step('What Prometheus sees (GET /metrics, excerpt)');
  for (const line of metrics.split('\n')) {
    if (/^apollo_sidecar_agent_(applies_total|components_in_sync|sidecar_connected|apollo_polls_total)/.test(line)) console.log(`  ${line}`);
  }

  step('SIGTERM: the agent drains and exits');
  const code = await agent.stop('SIGTERM');
  console.log(`  exit code ${String(code)}`);
  agent = undefined;
  if (code !== 0) throw new Error(`the agent exited with ${String(code)}`);
  console.log(`\n${paint(32, '✔ demo complete')}: Apollo release → full ComponentConfig → Layotto, in ${receivedAt - releasedAt} ms.`);
} catch (error) {
  console.error(`\n✘ demo failed: ${error instanceof Error ? error.message : String(error)}`);
  if (agent) console.error(`agent stderr:\n${agent.stderr()}`);
  process.exitCode = 1;
} finally {
  await agent?.stop('SIGKILL');
  await apollo.close();
  await sidecar.close();
  await rm(stateDir, { recursive: true, force: true });
}
