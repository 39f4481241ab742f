import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { convertLayottoConfig } from '../../src/convert/layotto-config.js';
import { formatAsNamespace, type NamespaceTextFormat } from '../../src/convert/namespace-text.js';
import type { ComponentConfig } from '../../src/domain/component.js';
import { ConfigError, MappingError } from '../../src/domain/errors.js';
import { mapLayers } from '../../src/mapper/map-layers.js';
import { parseNamespace } from '../../src/mapper/parse-namespace.js';
import { parseProperties } from '../../src/sources/properties-text.js';
import { apolloNamespace } from '../fixtures/namespaces.js';

const fixture = new URL('../fixtures/layotto/config_redis_components.json', import.meta.url);

async function fixtureConfig(): Promise<unknown> {
  return JSON.parse(await readFile(fixture, 'utf8'));
}

function grpcConfig(sections: Record<string, unknown>): unknown {
  return { servers: [{ listeners: [{ filter_chains: [{ filters: [{ type: 'grpc', config: { grpc_config: sections } }] }] }] }] };
}

/** What the agent would push after reading `text` back as the namespace `format`. */
function readBack(text: string, format: NamespaceTextFormat): ComponentConfig[] {
  const ns =
    format === 'properties'
      ? apolloNamespace('application', 'properties', parseProperties(text))
      : apolloNamespace(`components.${format}`, format, text);
  const desired = mapLayers([parseNamespace(ns, [])]);
  return [...desired.components.values()].map(({ kind, name, metadata }) => ({ kind, name, metadata: { ...metadata } }));
}

describe('convertLayottoConfig', () => {
  it('keeps kind, name and string metadata of a real Layotto config', async () => {
    const { components } = convertLayottoConfig(await fixtureConfig());
    assert.deepEqual(components, [
      { kind: 'config_store', name: 'config_demo', metadata: { 'dial.timeout': '5s' } },
      { kind: 'helloworld', name: 'demo', metadata: { greeting: 'hi there' } },
      { kind: 'lock', name: 'redis_lock', metadata: { redisHost: 'localhost:6380', redisPassword: '' } },
      { kind: 'pub_subs', name: 'redis_pubsub', metadata: { redisHost: 'localhost:6380', consumerID: 'app1', processingTimeout: '60s' } },
      { kind: 'secret_store', name: 'local_file', metadata: { secretsFile: '../../configs/secret/config_secret_local_file.json', nestedSeparator: ':' } },
      { kind: 'sequencer', name: 'redis_seq', metadata: { redisHost: '127.0.0.1:6380', redisPassword: '' } },
      { kind: 'state', name: 'redis', metadata: { redisHost: 'localhost:6380', redisPassword: 's3cr3t', maxRetries: '3', enableTLS: 'false' } },
    ]);
  });

  it('lists everything it cannot carry, with where and why', async () => {
    const { unsupported } = convertLayottoConfig(await fixtureConfig());
    const expected: [string, RegExp][] = [
      ['grpc_config.hellos.quick_start_demo.type', /chosen when Layotto starts/],
      ['grpc_config.hellos.quick_start_demo.hello', /only metadata/],
      ['grpc_config.hellos.quick_start_demo:', /no metadata/],
      ['grpc_config.state.redis.type = "redis"', /static config/],
      ['grpc_config.state.in_memory:', /no metadata/],
      ['grpc_config.sequencer.redis_seq.Type', /chosen when Layotto starts/],
      ['grpc_config.config_store.config_demo.address', /only metadata/],
      ['grpc_config.config_store.config_demo.timeout', /only metadata/],
      ['grpc_config.file.aliyun_oss.metadata', /not a map of strings/],
      ['grpc_config.file.aliyun_oss:', /no metadata/],
      ['grpc_config.secret_store.local_file.metadata.options', /an object/],
      ['grpc_config.custom_component.helloworld.demo.type', /chosen when Layotto starts/],
      ['grpc_config.app', /not a component/],
      ['grpc_config.cryption', /unknown section/],
    ];
    for (const [path, why] of expected) {
      const line = unsupported.find((item) => item.startsWith(path));
      assert.ok(line, `missing ${path} in\n${unsupported.join('\n')}`);
      assert.match(line, why);
    }
    const types = unsupported.filter((line) => /\.type = |\.Type = /.test(line));
    assert.equal(types.length, 10, 'every component type is listed');
  });

  it('rejects what is not a Layotto config', () => {
    assert.throws(() => convertLayottoConfig({ foo: 1 }), ConfigError);
    assert.throws(() => convertLayottoConfig('text'), ConfigError);
    assert.throws(() => convertLayottoConfig({ servers: [{ listeners: [{ filter_chains: [{ filters: [{ type: 'proxy', config: {} }] }] }] }] }), ConfigError);
  });

  it('keeps the first of duplicate components across grpc filters and says where', () => {
    const filter = (host: string): unknown => ({ type: 'grpc', config: { grpc_config: { state: { redis: { metadata: { host } } } } } });
    const raw = { servers: [{ listeners: [{ filter_chains: [{ filters: [filter('a')] }] }, { filter_chains: [{ filters: [filter('b')] }] }] }] };
    const { components, unsupported } = convertLayottoConfig(raw);
    assert.deepEqual(components, [{ kind: 'state', name: 'redis', metadata: { host: 'a' } }]);
    assert.match(unsupported.join('\n'), /servers\[0\]\.listeners\[1\].*defined more than once/);
  });

  it('lists null and array metadata values', () => {
    const { components, unsupported } = convertLayottoConfig(grpcConfig({ state: { s: { metadata: { a: 'x', b: null, c: [1] } } } }));
    assert.deepEqual(components, [{ kind: 'state', name: 's', metadata: { a: 'x' } }]);
    assert.equal(unsupported.length, 2);
  });
});

describe('formatAsNamespace round trip', () => {
  const tricky: ComponentConfig[] = [
    {
      kind: 'state',
      name: 'redis',
      metadata: {
        redisHost: 'localhost:6379',
        'tls.ca.file': '/etc/ca.pem',
        empty: '',
        leadingSpace: '  padded',
        url: 'https://mosn.io/?a=b#frag',
        multiline: 'line1\nline2\r\nline3',
        backslash: 'C:\\dir\\',
        unicode: 'héllo 世界 🚀',
        number: '6379',
        bool: 'true',
        'key with spaces=and:colons': 'v',
        '#notAComment': '!bang',
        tab: '\tx',
      },
    },
    { kind: 'lock', name: 'redis', metadata: { redisPassword: 'p@ss:w=rd' } },
    { kind: 'helloworld', name: 'demo', metadata: { greeting: 'hi there' } },
  ];

  for (const format of ['properties', 'json', 'yaml'] as const) {
    it(`${format}: the mapper reads back exactly the converted components`, async () => {
      const { components } = convertLayottoConfig(await fixtureConfig());
      const sorted = (list: ComponentConfig[]): ComponentConfig[] => [...list].sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
      assert.deepEqual(sorted(readBack(formatAsNamespace(components, format), format)), sorted([...components]));
      assert.deepEqual(sorted(readBack(formatAsNamespace(tricky, format), format)), sorted(tricky));
    });
  }

  it('writes readable properties', () => {
    const text = formatAsNamespace([{ kind: 'state', name: 'redis', metadata: { redisHost: 'localhost:6379', url: 'http://x/?a=b' } }], 'properties');
    assert.equal(text, 'state.redis.redisHost=localhost:6379\nstate.redis.url=http://x/?a=b\n');
  });

  it('writes the nested-map form for json and yaml', () => {
    const components: ComponentConfig[] = [{ kind: 'state', name: 'redis', metadata: { port: '6379' } }];
    assert.deepEqual(JSON.parse(formatAsNamespace(components, 'json')), { state: { redis: { port: '6379' } } });
    assert.equal(formatAsNamespace(components, 'yaml'), 'state:\n  redis:\n    port: "6379"\n');
  });

  it('refuses a kind or name with a dot in properties, which json and yaml can carry', () => {
    const dotted: ComponentConfig[] = [{ kind: 'state', name: 'redis.v2', metadata: { a: 'b' } }];
    assert.throws(() => formatAsNamespace(dotted, 'properties'), MappingError);
    assert.deepEqual(readBack(formatAsNamespace(dotted, 'yaml'), 'yaml'), dotted);
  });
});
