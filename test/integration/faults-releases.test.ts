/**
 * Releases that cannot be parsed or mapped, through the real binary (CONTRACT.md section 4):
 * each is rejected whole (nothing of it pushed), logged and counted once, the last good config
 * stays, and the next good release of the namespace is applied.
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, it } from 'node:test';
import { hashComponent } from '../../src/domain/hash.js';
import { startFakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto } from '../fakes/layotto-server.js';
import { runArgs, startAgent, type AgentProcess, type LogLine } from '../support/agent-process.js';
import { waitUntil } from '../support/wait.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';

const APP_ID = 'faults-releases';

afterEach(runCleanups);

function waitApplied(agent: AgentProcess, id: string, metadata: Readonly<Record<string, string>>, timeoutMs = 10_000): Promise<LogLine> {
  const [kind = '', name = ''] = id.split('/');
  const hash = hashComponent({ kind, name, metadata });
  return agent.waitForLog((l) => l.message === 'applied' && l.component === id && l.hash === hash, timeoutMs, `${id} applied with ${JSON.stringify(metadata)}`);
}

async function rejectedTotal(http: string, namespace: string): Promise<number | undefined> {
  const series = `apollo_sidecar_agent_releases_rejected_total{namespace="${namespace}"}`;
  const text = await (await fetch(`http://${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('faults: unparsable releases', () => {
  it('bad JSON, bad YAML and a JSON list with one bad entry are each rejected whole, logged and counted once; later good releases are applied', async () => {
    const json = (brokers: string): string => JSON.stringify({ pub_subs: { kafka: { brokers } } });
    const yaml = (endpoint: string): string => `oss:\n  s3:\n    endpoint: ${endpoint}\n`;
    const apollo = await startFakeApollo({ appId: APP_ID });
    onCleanup(() => apollo.close());
    const sidecar = await startFakeLayotto();
    onCleanup(() => sidecar.close());
    const stateDir = await tempDir('asa-faults-releases-');
    apollo.publish('application', { 'state.redis.redisHost': '10.0.0.1:6379' });
    apollo.publishContent('components.json', json('k1:9092'));
    apollo.publishContent('components.yaml', yaml('s3-1.local'));
    const agent = startAgent(
      runArgs({
        configService: apollo.url,
        appId: APP_ID,
        namespaces: ['application', 'components.json', 'components.yaml'],
        sidecar: sidecar.address,
        stateDir,
      }),
    );
    onCleanup(() => agent.stop('SIGKILL'));
    const http = String((await agent.waitForLog((l) => l.message === 'agent started', 10_000, 'agent started')).http);
    const good = new Map([
      ['state/redis', { redisHost: '10.0.0.1:6379' }],
      ['pub_subs/kafka', { brokers: 'k1:9092' }],
      ['oss/s3', { endpoint: 's3-1.local' }],
    ]);
    await sidecar.waitFor((s) => [...good].every(([id, metadata]) => isDeepStrictEqual(s.current(id), metadata)), 10_000);
    const polling = (): Promise<void> => waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');
    await polling();
    const before = sidecar.calls.length;
    const rejections = (): LogLine[] => agent.logs().filter((l) => l.level === 'error' && /release rejected/.test(l.message));

    const bad: [string, string][] = [
      ['components.json', '{"pub_subs": {"kafka": {"brokers": "k2:9092"}}, '],
      ['components.yaml', `${yaml('s3-2.local')}state: [unclosed\n`],
      // The first entry alone would be valid: the release must still be rejected whole.
      ['components.json', JSON.stringify([{ kind: 'pub_subs', name: 'kafka', metadata: { brokers: 'k3:9092' } }, { kind: '', name: 'x' }])],
    ];
    const badKeys: string[] = [];
    for (const [ns, text] of bad) {
      const { releaseKey } = apollo.publishContent(ns, text);
      badKeys.push(releaseKey);
      await waitUntil(() => rejections().some((l) => l.releaseKey === releaseKey && l.namespace === ns), 10_000, `the bad ${ns} release rejected`);
      await polling();
    }
    assert.equal(sidecar.calls.length, before, 'nothing of a rejected release is pushed');

    apollo.publishContent('components.json', json('k4:9092'));
    await waitApplied(agent, 'pub_subs/kafka', { brokers: 'k4:9092' });
    await polling();
    apollo.publishContent('components.yaml', yaml('s3-4.local'));
    await waitApplied(agent, 'oss/s3', { endpoint: 's3-4.local' });
    assert.deepEqual(
      sidecar.calls.slice(before).map((c) => [c.id, c.metadata]),
      [['pub_subs/kafka', { brokers: 'k4:9092' }], ['oss/s3', { endpoint: 's3-4.local' }]],
      'only the good releases were pushed, each its own change',
    );
    assert.deepEqual(
      rejections().map((l) => l.releaseKey),
      badKeys,
      'each bad release is logged once, however many later snapshots the source emits',
    );
    assert.equal(await rejectedTotal(http, 'components.json'), 2, 'two bad components.json releases counted once each');
    assert.equal(await rejectedTotal(http, 'components.yaml'), 1, 'one bad components.yaml release counted once');
    assert.deepEqual(agent.logs().filter((l) => /no keys left/.test(l.message)), []);
  });
});
