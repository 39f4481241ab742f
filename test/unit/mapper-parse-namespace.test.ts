import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MappingError } from '../../src/domain/errors.js';
import type { NamespaceContent } from '../../src/domain/snapshot.js';
import { parseNamespace } from '../../src/mapper/parse-namespace.js';
import type { ParsedEntry, ParsedLayer } from '../../src/mapper/parsed-layer.js';
import { componentRuleSchema, type ComponentRule } from '../../src/mapper/rules.js';
import { apolloNamespace, properties } from '../fixtures/namespaces.js';

/** A layer's metadata flattened, components in id order and keys in code-unit order. */
function layerEntries(layer: ParsedLayer): ParsedEntry[] {
  return layer.components.flatMap(({ kind, name, metadata }) =>
    Object.keys(metadata)
      .sort()
      .map((metadataKey) => entry(kind, name, metadataKey, metadata[metadataKey]!)),
  );
}

function entries(ns: NamespaceContent, rules: readonly ComponentRule[] = []): ParsedEntry[] {
  return layerEntries(parseNamespace(ns, rules));
}

function entry(kind: string, name: string, metadataKey: string, value: string): ParsedEntry {
  return { kind, name, metadataKey, value };
}

function mappingError(fn: () => unknown): MappingError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof MappingError, `expected MappingError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a MappingError');
}

describe('parseNamespace: properties convention', () => {
  it('reads <kind>.<name>.<metadataKey> with dots allowed in the metadata key', () => {
    const layer = parseNamespace(
      properties('application', { 'state.redis.redisHost': 'localhost:6379', 'state.redis.tls.ca.file': '/ca.pem', 'lock.redis.disasterSwitch': 'on' }, 'rk1'),
      [],
    );
    assert.deepEqual(layerEntries(layer), [
      entry('lock', 'redis', 'disasterSwitch', 'on'),
      entry('state', 'redis', 'redisHost', 'localhost:6379'),
      entry('state', 'redis', 'tls.ca.file', '/ca.pem'),
    ]);
    assert.equal(layer.namespace, 'application');
    assert.equal(layer.namespaceKey, 'apollo:application');
    assert.equal(layer.releaseKey, 'rk1');
    assert.deepEqual(layer.warnings, []);
  });

  it('groups keys of one component wherever they are listed', () => {
    const layer = parseNamespace(
      properties('application', { 'state.redis.z': '1', 'lock.redis.host': 'l', 'state.redis.a': '2', 'state.redisx.a': '3', 'state.redis.m': '4' }),
      [],
    );
    assert.deepEqual(
      layer.components.map((c) => [c.id, c.metadata]),
      [
        ['lock/redis', { host: 'l' }],
        ['state/redis', { a: '2', m: '4', z: '1' }],
        ['state/redisx', { a: '3' }],
      ],
    );
    assert.deepEqual(Object.keys(layer.components[1]!.metadata), ['a', 'm', 'z'], 'metadata keys in code-unit order');
  });

  it('refuses a "/" in a kind, so that no two (kind, name) pairs share an id; a "/" in a name is kept', () => {
    const error = mappingError(() => parseNamespace(properties('application', { 'a/b.c.x': '1', 'a.b/c.y': '2' }), []));
    assert.deepEqual(error.problems, ['key "a/b.c.x": kind "a/b" contains "/", which would make its id ambiguous']);
    const layer = parseNamespace(properties('application', { 'a.b/c.y': '2' }), []);
    assert.deepEqual(layer.components.map((c) => [c.id, c.kind, c.name]), [['a/b/c', 'a', 'b/c']]);
  });

  it('keeps empty values', () => {
    assert.deepEqual(entries(properties('application', { 'state.redis.redisPassword': '' })), [entry('state', 'redis', 'redisPassword', '')]);
  });

  it('ignores keys without three segments with one warning that lists them', () => {
    const layer = parseNamespace(properties('application', { 'server.port': '8080', timeout: '3', 'state.redis.host': 'h' }), []);
    assert.deepEqual(layerEntries(layer), [entry('state', 'redis', 'host', 'h')]);
    assert.equal(layer.warnings.length, 1);
    assert.match(layer.warnings[0]!, /application: ignored 2 key\(s\).*server\.port, timeout/);
  });

  it('rejects keys with an empty kind, name or metadata key, listing each', () => {
    const error = mappingError(() =>
      parseNamespace(properties('application', { '.redis.host': 'x', 'state..host': 'y', 'state.redis.': 'z', 'state.redis.ok': 'fine' }), []),
    );
    assert.equal(error.namespace, 'application');
    assert.equal(error.problems.length, 3);
  });

  it('returns frozen layers', () => {
    const layer = parseNamespace(properties('application', { 'state.redis.host': 'h' }), []);
    assert.ok(Object.isFrozen(layer));
    assert.ok(Object.isFrozen(layer.components));
    assert.ok(Object.isFrozen(layer.components[0]));
    assert.ok(Object.isFrozen(layer.components[0]?.metadata));
  });

  it('keeps a metadata key named __proto__', () => {
    assert.deepEqual(entries(properties('application', { 'state.redis.__proto__': 'x' })), [entry('state', 'redis', '__proto__', 'x')]);
  });
});

describe('parseNamespace: explicit rules', () => {
  const redisRule: ComponentRule = { kind: 'state', name: 'redis', prefix: 'redis.' };

  it('takes every key with the prefix, strips it, and keeps those keys out of the convention', () => {
    const layer = parseNamespace(
      properties('application', { 'redis.host': 'h', 'redis.pool.size': '10', 'redis.x.y': 'not-a-kind', 'lock.redis.host': 'l' }),
      [redisRule],
    );
    assert.deepEqual(layerEntries(layer), [
      entry('lock', 'redis', 'host', 'l'),
      entry('state', 'redis', 'host', 'h'),
      entry('state', 'redis', 'pool.size', '10'),
      entry('state', 'redis', 'x.y', 'not-a-kind'),
    ]);
  });

  it('lets the longest prefix win and shares a key between rules with the same prefix', () => {
    const rules: ComponentRule[] = [
      { kind: 'state', name: 'redis', prefix: 'redis.' },
      { kind: 'lock', name: 'redis', prefix: 'redis.' },
      { kind: 'sequencer', name: 'redis', prefix: 'redis.seq.' },
    ];
    assert.deepEqual(entries(properties('application', { 'redis.host': 'h', 'redis.seq.start': '1' }), rules), [
      entry('lock', 'redis', 'host', 'h'),
      entry('sequencer', 'redis', 'start', '1'),
      entry('state', 'redis', 'host', 'h'),
    ]);
  });

  it('wins over the convention for the same metadata key, with a warning', () => {
    const layer = parseNamespace(properties('application', { 'state.redis.host': 'convention', 'redis.host': 'rule' }), [redisRule]);
    assert.deepEqual(layerEntries(layer), [entry('state', 'redis', 'host', 'rule')]);
    assert.match(layer.warnings.join('\n'), /rules override 1 metadata key.*state\.redis\.host/);
  });

  it('applies to one namespace only, matched case-insensitively and without .properties', () => {
    const rule: ComponentRule = { kind: 'state', name: 'redis', namespace: 'Redis.properties', prefix: '' };
    assert.deepEqual(entries(properties('redis', { host: 'h', port: '6379' }), [rule]), [
      entry('state', 'redis', 'host', 'h'),
      entry('state', 'redis', 'port', '6379'),
    ]);
    const other = parseNamespace(properties('application', { host: 'h' }), [rule]);
    assert.deepEqual(layerEntries(other), []);
    assert.equal(other.warnings.length, 1);
  });

  it('matches a file by its base name', () => {
    const file: NamespaceContent = { ...properties('/etc/agent/redis.properties', { host: 'h' }), key: 'file:/etc/agent/redis.properties', origin: 'file' };
    assert.deepEqual(entries(file, [{ kind: 'state', name: 'redis', namespace: 'redis', prefix: '' }]), [entry('state', 'redis', 'host', 'h')]);
  });

  it('ignores a key equal to the prefix with a warning', () => {
    const layer = parseNamespace(properties('application', { 'redis.': 'x', 'redis.host': 'h' }), [redisRule]);
    assert.deepEqual(layerEntries(layer), [entry('state', 'redis', 'host', 'h')]);
    assert.match(layer.warnings.join('\n'), /equal to a rule's prefix.*redis\./);
  });

  it('says so when a rule names a json namespace', () => {
    const layer = parseNamespace(apolloNamespace('components.json', 'json', '[]'), [{ kind: 'state', name: 'redis', namespace: 'components.json', prefix: 'x' }]);
    assert.match(layer.warnings.join('\n'), /rules apply to properties namespaces only/);
  });

  it('has a zod schema that rejects unknown fields and an unbounded empty prefix', () => {
    assert.ok(componentRuleSchema.safeParse({ kind: 'state', name: 'redis', prefix: 'redis.' }).success);
    assert.ok(componentRuleSchema.safeParse({ kind: 'state', name: 'redis', prefix: '', namespace: 'redis' }).success);
    assert.ok(!componentRuleSchema.safeParse({ kind: 'state', name: 'redis', prefix: '' }).success);
    assert.ok(!componentRuleSchema.safeParse({ kind: 'state', name: 'redis', prefix: 'a', prefx: 'b' }).success);
    assert.ok(!componentRuleSchema.safeParse({ kind: '', name: 'redis', prefix: 'a' }).success);
  });
});

describe('parseNamespace: JSON and YAML', () => {
  const expected = [entry('lock', 'redis', 'host', 'l'), entry('state', 'redis', 'host', 'h'), entry('state', 'redis', 'port', '6379')];

  it('reads the list form', () => {
    const json = JSON.stringify([
      { kind: 'state', name: 'redis', metadata: { host: 'h', port: 6379 } },
      { kind: 'lock', name: 'redis', metadata: { host: 'l' } },
    ]);
    assert.deepEqual(entries(apolloNamespace('components.json', 'json', json)), expected);
    const yaml = '- kind: state\n  name: redis\n  metadata:\n    host: h\n    port: 6379\n- kind: lock\n  name: redis\n  metadata: {host: l}\n';
    assert.deepEqual(entries(apolloNamespace('components.yaml', 'yaml', yaml)), expected);
  });

  it('reads the nested-map form', () => {
    const json = JSON.stringify({ state: { redis: { host: 'h', port: 6379 } }, lock: { redis: { host: 'l' } } });
    assert.deepEqual(entries(apolloNamespace('components.json', 'json', json)), expected);
    const yaml = 'state:\n  redis:\n    host: h\n    port: 6379\nlock:\n  redis:\n    host: l\n';
    assert.deepEqual(entries(apolloNamespace('components.yml', 'yaml', yaml)), expected);
  });

  it('turns numbers and booleans into strings as written, objects and arrays into JSON, null into ""', () => {
    const yaml = [
      'state:',
      '  redis:',
      '    version: 1.10',
      '    hex: 0x1F',
      '    tls: True',
      '    quoted: "1.10"',
      '    empty:',
      '    tilde: ~',
      '    hosts: [a, b]',
      '    pool: {size: 10, idle: true}',
      '    multi: |',
      '      line1',
      '      line2',
    ].join('\n');
    const metadata = Object.fromEntries(entries(apolloNamespace('c.yaml', 'yaml', yaml)).map((e) => [e.metadataKey, e.value]));
    assert.deepEqual(metadata, {
      version: '1.10',
      hex: '0x1F',
      tls: 'True',
      quoted: '1.10',
      empty: '',
      tilde: '',
      hosts: '["a","b"]',
      pool: '{"size":10,"idle":true}',
      multi: 'line1\nline2\n',
    });
    const json = '{"state":{"redis":{"port":6379,"ratio":0.5,"on":false,"none":null,"hosts":["a",1],"pool":{"size":10}}}}';
    const fromJson = Object.fromEntries(entries(apolloNamespace('c.json', 'json', json)).map((e) => [e.metadataKey, e.value]));
    assert.deepEqual(fromJson, { port: '6379', ratio: '0.5', on: 'false', none: '', hosts: '["a",1]', pool: '{"size":10}' });
  });

  it('rejects JSON integers that cannot be kept exactly', () => {
    const error = mappingError(() => parseNamespace(apolloNamespace('c.json', 'json', '{"state":{"redis":{"id":123456789012345678901}}}'), []));
    assert.match(error.message, /write it as a string/);
  });

  it('treats empty content and null blocks as no components', () => {
    assert.deepEqual(entries(apolloNamespace('c.json', 'json', '  ')), []);
    assert.deepEqual(entries(apolloNamespace('c.yaml', 'yaml', '# everything commented out\n')), []);
    assert.deepEqual(entries(apolloNamespace('c.yaml', 'yaml', 'state:\n  redis:\n')), []);
    assert.deepEqual(entries(apolloNamespace('c.json', 'json', '[{"kind":"state","name":"redis","metadata":null}]')), []);
  });

  it('merges duplicate list entries, the later winning key by key', () => {
    const json = JSON.stringify([
      { kind: 'state', name: 'redis', metadata: { host: 'a', port: '1' } },
      { kind: 'state', name: 'redis', metadata: { host: 'b' } },
    ]);
    assert.deepEqual(entries(apolloNamespace('c.json', 'json', json)), [entry('state', 'redis', 'host', 'b'), entry('state', 'redis', 'port', '1')]);
  });

  it('warns about fields of list entries that mean nothing', () => {
    const layer = parseNamespace(apolloNamespace('c.json', 'json', '[{"kind":"state","name":"redis","type":"redis","metadata":{"a":"b"}}]'), []);
    assert.match(layer.warnings.join('\n'), /ignored field\(s\) type/);
  });

  for (const [label, format, content] of [
    ['invalid JSON', 'json', '{"state": '],
    ['invalid YAML', 'yaml', 'state: [unclosed'],
    ['duplicate YAML keys', 'yaml', 'state:\n  redis: {a: 1}\n  redis: {a: 2}\n'],
    ['a scalar root', 'json', '"just text"'],
    ['a kind that is not a map', 'json', '{"state":"redis"}'],
    ['a name that is not a map', 'yaml', 'state:\n  redis: on\n'],
    ['an empty kind in the list form', 'json', '[{"kind":"","name":"redis","metadata":{"a":"b"}}]'],
    ['a missing name in the list form', 'json', '[{"kind":"state","metadata":{"a":"b"}}]'],
    ['an empty name in the map form', 'json', '{"state":{"":{"a":"b"}}}'],
    ['an empty metadata key', 'json', '{"state":{"redis":{"":"b"}}}'],
    ['several YAML documents', 'yaml', 'state: {}\n---\nlock: {}\n'],
    ['a YAML alias that contains itself', 'yaml', 'state:\n  redis:\n    loop: &x [*x]\n'],
  ] as const) {
    it(`rejects ${label}`, () => {
      const error = mappingError(() => parseNamespace(apolloNamespace(`c.${format}`, format, content), []));
      assert.equal(error.namespace, `c.${format}`);
      assert.ok(error.problems.length > 0);
    });
  }

  it('rejects json content that is not in configurations.content', () => {
    mappingError(() => parseNamespace(apolloNamespace('c.json', 'json', { 'state.redis.host': 'h' }), []));
  });
});

describe('parseNamespace: content it cannot map', () => {
  it('rejects xml and txt namespaces', () => {
    mappingError(() => parseNamespace(apolloNamespace('c.xml', 'xml', '<a/>'), []));
    mappingError(() => parseNamespace(apolloNamespace('c.txt', 'txt', 'hello'), []));
  });

  it('has no per-value limit: a 2 MiB value maps (the push size limit is the encoded request, downstream)', () => {
    const big = 'x'.repeat(2 * 1024 * 1024);
    assert.equal(entries(properties('application', { 'state.redis.blob': big })).length, 1);
  });
});
