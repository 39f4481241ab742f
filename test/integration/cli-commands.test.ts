/**
 * Every one-shot command through the real binary, on a realistic setup: an Apollo app with a
 * properties namespace and a YAML namespace, a file source, and a fake Layotto.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeApollo, type FakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto, type FakeLayotto } from '../fakes/layotto-server.js';
import { runCli } from '../support/agent-process.js';

const APP_ID = 'payments';
let apollo: FakeApollo;
let sidecar: FakeLayotto;
let dir: string;
let apolloArgs: string[];

before(async () => {
  apollo = await startFakeApollo({ appId: APP_ID });
  sidecar = await startFakeLayotto({ components: ['state/redis', 'lock/redis', 'pub_subs/kafka', 'config_store/apollo'] });
  dir = await mkdtemp(join(tmpdir(), 'asa-cli-'));
  apollo.publish('application', {
    'state.redis.redisHost': '10.0.0.1:6379',
    'state.redis.redisPassword': 'hunter2',
    'state.redis.disasterSwitch': 'off',
    'lock.redis.redisHost': '10.0.0.1:6379',
    'not-a-component': 'x',
  });
  apollo.publishContent('mq.yaml', 'pub_subs:\n  kafka:\n    brokers: k1:9092,k2:9092\n    retries: 3\n    tls: true\n');
  await writeFile(join(dir, 'base.json'), JSON.stringify([{ kind: 'config_store', name: 'apollo', metadata: { timeout: 5000 } }]));
  apolloArgs = [
    '--apollo-config-service', apollo.url,
    '--app-id', APP_ID,
    '--namespace', 'application',
    '--namespace', 'mq.yaml',
    '--file', join(dir, 'base.json'),
    '--sidecar', sidecar.address,
    '--state-dir', join(dir, 'state'),
  ];
});

after(async () => {
  await apollo.close();
  await sidecar.close();
  await rm(dir, { recursive: true, force: true });
});

describe('CLI commands on a realistic setup', () => {
  it('validate: exit 0 with the component count and the ignored-key warning', async () => {
    const result = await runCli(['validate', ...apolloArgs]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^valid: 4 component\(s\)/);
    assert.match(result.stdout, /not-a-component/);
  });

  it('render: the desired set as JSON, secrets masked unless --show-secrets', async () => {
    const masked = await runCli(['render', ...apolloArgs]);
    assert.equal(masked.code, 0, masked.stderr);
    const components = JSON.parse(masked.stdout) as { kind: string; name: string; metadata: Record<string, string> }[];
    assert.deepEqual(
      components.map((c) => `${c.kind}/${c.name}`),
      ['config_store/apollo', 'lock/redis', 'pub_subs/kafka', 'state/redis'],
    );
    assert.deepEqual(components.find((c) => c.name === 'kafka')?.metadata, { brokers: 'k1:9092,k2:9092', retries: '3', tls: 'true' });
    assert.equal(components.find((c) => c.kind === 'config_store')?.metadata.timeout, '5000');
    assert.equal(components.find((c) => c.kind === 'state')?.metadata.redisPassword, '***');
    assert.doesNotMatch(masked.stdout, /hunter2/);
    const shown = await runCli(['render', '--show-secrets', ...apolloArgs]);
    assert.match(shown.stdout, /hunter2/);
  });

  it('diff → apply → diff: 2 with every component to create, then applied, then 0', async () => {
    const first = await runCli(['diff', ...apolloArgs]);
    assert.equal(first.code, 2, first.stderr);
    assert.match(first.stdout, /state\/redis/);
    assert.doesNotMatch(first.stdout, /hunter2/);

    const json = await runCli(['diff', '--output', 'json', ...apolloArgs]);
    assert.equal(json.code, 2);
    assert.doesNotThrow(() => JSON.parse(json.stdout));
    assert.doesNotMatch(json.stdout, /hunter2/);

    const dry = await runCli(['apply', '--dry-run', ...apolloArgs]);
    assert.equal(dry.code, 2);
    assert.equal(sidecar.calls.length, 0, 'a dry run pushes nothing');

    const applied = await runCli(['apply', ...apolloArgs]);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    assert.match(applied.stdout, /4 applied, 0 failed/);
    assert.deepEqual(sidecar.current('state/redis'), { redisHost: '10.0.0.1:6379', redisPassword: 'hunter2', disasterSwitch: 'off' });
    const ledger = JSON.parse(await readFile(join(dir, 'state', 'ledger.json'), 'utf8')) as { components: object };
    assert.equal(Object.keys(ledger.components).length, 4);

    const clean = await runCli(['diff', ...apolloArgs]);
    assert.equal(clean.code, 0, clean.stdout);
  });

  it('after one key changes, diff shows that key and apply pushes only that component; --all pushes all', async () => {
    apollo.publish('application', { ...apollo.release('application')!.configurations, 'state.redis.disasterSwitch': 'on' });
    const diff = await runCli(['diff', '--output', 'json', ...apolloArgs]);
    assert.equal(diff.code, 2);
    assert.match(diff.stdout, /disasterSwitch/);
    const text = await runCli(['diff', ...apolloArgs]);
    assert.match(text.stdout, /disasterSwitch/);
    assert.match(text.stdout, /"off"/);
    assert.match(text.stdout, /"on"/);

    sidecar.clearCalls();
    const applied = await runCli(['apply', ...apolloArgs]);
    assert.equal(applied.code, 0, applied.stdout);
    assert.deepEqual(sidecar.calls.map((c) => c.id), ['state/redis']);

    sidecar.clearCalls();
    const all = await runCli(['apply', '--all', ...apolloArgs]);
    assert.equal(all.code, 0, all.stdout);
    assert.equal(sidecar.calls.length, 4);
  });

  it('apply: a component the sidecar does not know fails with its message and exit 1; the ledger keeps only what was applied', async () => {
    const stateDir = join(dir, 'state-unknown');
    const path = join(dir, 'unknown.yaml');
    await writeFile(path, 'state:\n  redis:\n    a: "1"\nhellos:\n  ghost:\n    x: "1"\n');
    const result = await runCli(['apply', '--file', path, '--sidecar', sidecar.address, '--state-dir', stateDir]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /rejected hellos\/ghost \(INVALID_ARGUMENT: component not found\. kind: hellos, name: ghost\)/);
    const ledger = JSON.parse(await readFile(join(stateDir, 'ledger.json'), 'utf8')) as { components: object };
    assert.deepEqual(Object.keys(ledger.components), ['state/redis']);
  });

  it('apply: a sidecar that never answers → exit 1 after --timeout, nothing recorded', async () => {
    const hanging = await startFakeLayotto();
    hanging.hang(true);
    const stateDir = join(dir, 'state-hanging');
    const result = await runCli(['apply', '--file', join(dir, 'base.json'), '--sidecar', hanging.address, '--state-dir', stateDir, '--timeout', '1s']);
    await hanging.close();
    assert.equal(result.code, 1);
    assert.match(result.stdout, /timed out config_store\/apollo/);
    assert.deepEqual(JSON.parse(await readFile(join(stateDir, 'ledger.json'), 'utf8')).components, {});
  });

  it('a release that cannot be parsed: render, diff and apply refuse with exit 1; validate lists it', async () => {
    const args = ['--apollo-config-service', apollo.url, '--app-id', APP_ID, '--namespace', 'broken.json', '--state-dir', join(dir, 'state-broken')];
    apollo.publishContent('broken.json', '{"state": {"redis": ');
    for (const command of ['render', 'diff', 'apply']) {
      const result = await runCli([command, ...args]);
      assert.equal(result.code, 1, `${command}: ${result.stdout}`);
      assert.match(result.stderr, /broken\.json/);
    }
    const validate = await runCli(['validate', ...args]);
    assert.equal(validate.code, 1);
    assert.match(validate.stdout, /invalid: 1 problem/);
    assert.match(validate.stdout, /broken\.json/);
  });

  it('validate: an invalid config file lists every problem and exits 1', async () => {
    const path = join(dir, 'agent-bad.yaml');
    await writeFile(path, 'appId: payments\nsidecar: nope\nlogLevel: chatty\ncomponnents: []\n');
    const result = await runCli(['validate', '--config', path]);
    assert.equal(result.code, 1);
    for (const word of ['sidecar', 'logLevel', 'componnents', 'apolloMeta']) assert.match(result.stdout, new RegExp(word));
  });

  it('convert: a Layotto static config becomes namespace content that renders to the same components', async () => {
    const layotto = join(dir, 'layotto.json');
    await writeFile(
      layotto,
      JSON.stringify({
        servers: [
          {
            listeners: [
              {
                filter_chains: [
                  {
                    filters: [
                      {
                        type: 'grpc',
                        config: {
                          server_name: 'runtime',
                          grpc_config: {
                            hellos: { quick_start_demo: { type: 'helloworld', hello: 'greeting' } },
                            state: { state_demo: { type: 'redis', metadata: { redisHost: 'localhost:6380', redisPassword: '' } } },
                            lock: { lock_demo: { type: 'redis', metadata: { redisHost: 'localhost:6380', db: 0 } } },
                            app: { app_id: 'app1' },
                          },
                        },
                      },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    for (const to of ['properties', 'yaml', 'json'] as const) {
      const converted = await runCli(['convert', '--from-layotto', layotto, '--to', to]);
      assert.equal(converted.code, 0, converted.stderr);
      assert.match(converted.stderr, /type/, 'what cannot be carried is listed');
      const out = join(dir, `converted.${to}`);
      await writeFile(out, converted.stdout);
      const rendered = await runCli(['render', '--show-secrets', '--file', out]);
      assert.equal(rendered.code, 0, rendered.stderr);
      assert.deepEqual(JSON.parse(rendered.stdout), [
        { kind: 'lock', name: 'lock_demo', metadata: { db: '0', redisHost: 'localhost:6380' } },
        { kind: 'state', name: 'state_demo', metadata: { redisHost: 'localhost:6380', redisPassword: '' } },
      ]);
    }
  });

  it('--help on every command, and --version', async () => {
    for (const command of ['run', 'diff', 'apply', 'render', 'validate', 'convert']) {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, /Examples:/, command);
    }
    const diffHelp = await runCli(['diff', '--help']);
    assert.match(diffHelp.stdout, /not possible/);
    const version = await runCli(['--version']);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
  });
});
