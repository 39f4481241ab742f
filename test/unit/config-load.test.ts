import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadAgentConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/domain/errors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'asa-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function problemsOf(promise: Promise<unknown>): Promise<readonly string[]> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('agent config: precedence flag > env > file > default', () => {
  it('applies defaults', async () => {
    const config = await loadAgentConfig({ flags: { appId: 'a', apolloConfigService: 'http://apollo:8080' }, env: {}, cwd: dir });
    assert.equal(config.apollo?.cluster, 'default');
    assert.deepEqual(config.apollo?.namespaces, ['application']);
    assert.equal(config.sidecar, '127.0.0.1:34904');
    assert.equal(config.stateDir, join(dir, '.apollo-sidecar-agent'));
    assert.deepEqual(config.http, { host: '127.0.0.1', port: 34980 });
    assert.equal(config.logLevel, 'info');
    assert.equal(config.logFormat, 'json');
    assert.equal(config.resyncIntervalMs, 300_000);
  });

  it('a flag beats env, env beats the file, the file beats the default', async () => {
    const path = await file('layers.yaml', 'appId: from-file\ncluster: file-cluster\nsidecar: 10.0.0.1:1\nlogLevel: debug\napolloConfigService: http://file:8080\n');
    const config = await loadAgentConfig({
      flags: { config: path, appId: 'from-flag' },
      env: { APOLLO_APP_ID: 'from-env', APOLLO_CLUSTER: 'env-cluster', SIDECAR_ADDRESS: '10.0.0.2:2' },
      cwd: dir,
    });
    assert.equal(config.apollo?.appId, 'from-flag');
    assert.equal(config.apollo?.cluster, 'env-cluster');
    assert.equal(config.sidecar, '10.0.0.2:2');
    assert.equal(config.logLevel, 'debug');
    assert.deepEqual(config.apollo?.configServices, ['http://file:8080']);
  });

  it('reads the config file from AGENT_CONFIG, JSON too, and comma lists from env', async () => {
    const path = await file('agent.json', JSON.stringify({ file: ['./a.yaml'], resyncInterval: '30s', http: 'off' }));
    const config = await loadAgentConfig({ flags: {}, env: { AGENT_CONFIG: path, AGENT_FILES: 'x.yaml, y.yaml' }, cwd: dir });
    assert.deepEqual(config.files, [join(dir, 'x.yaml'), join(dir, 'y.yaml')]);
    assert.equal(config.resyncIntervalMs, 30_000);
    assert.equal(config.http, 'off');
    assert.equal(config.apollo, undefined);
  });

  it('reads the access key secret from a file, keeping it out of argv', async () => {
    const secretFile = await file('secret', 'df23df3f59884980844ff3dada30fa97\n');
    const config = await loadAgentConfig({
      flags: { appId: 'a', apolloMeta: 'http://meta:8080', accessKeySecretFile: secretFile },
      env: {},
      cwd: dir,
    });
    assert.equal(config.apollo?.accessKeySecret, 'df23df3f59884980844ff3dada30fa97');
  });

  it('reports every problem at once, each with its path', async () => {
    const path = await file('bad.yaml', 'appId: 7\nunknownKey: 1\ncomponents:\n  - { kind: state, prefix: "x." }\n');
    const problems = await problemsOf(loadAgentConfig({ flags: { config: path }, env: {}, cwd: dir }));
    assert.ok(problems.some((p) => p.includes('appId')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('unknownKey')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('components.0.name')), problems.join('\n'));
  });

  it('rejects bad values of every kind in one go', async () => {
    const problems = await problemsOf(
      loadAgentConfig({
        flags: { appId: 'a', sidecar: 'nohost', http: 'x', logLevel: 'loud', logFormat: 'xml', resyncInterval: 'soon' },
        env: {},
        cwd: dir,
      }),
    );
    assert.equal(problems.length, 6, problems.join('\n'));
  });

  it('requires a source, and appId when Apollo is used', async () => {
    assert.match((await problemsOf(loadAgentConfig({ flags: {}, env: {}, cwd: dir })))[0]!, /no source/);
    const problems = await problemsOf(loadAgentConfig({ flags: { apolloMeta: 'http://meta' }, env: {}, cwd: dir }));
    assert.ok(problems.some((p) => p.startsWith('appId')));
  });

  it('names an unreadable config file', async () => {
    const problems = await problemsOf(loadAgentConfig({ flags: { config: join(dir, 'missing.yaml') }, env: {}, cwd: dir }));
    assert.match(problems[0]!, /missing\.yaml/);
  });
});
