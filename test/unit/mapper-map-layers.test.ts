import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashComponent } from '../../src/domain/hash.js';
import { mapLayers } from '../../src/mapper/map-layers.js';
import { parseNamespace } from '../../src/mapper/parse-namespace.js';
import type { ParsedLayer } from '../../src/mapper/parsed-layer.js';
import { apolloNamespace, properties } from '../fixtures/namespaces.js';

function layer(name: string, configurations: Record<string, string>, releaseKey = `rk-${name}`): ParsedLayer {
  return parseNamespace(properties(name, configurations, releaseKey), []);
}

describe('mapLayers', () => {
  it('builds frozen components with id, hash and release keys', () => {
    const desired = mapLayers([layer('application', { 'state.redis.host': 'h', 'state.redis.port': '6379' }, '20240101-abc')]);
    const redis = desired.components.get('state/redis');
    assert.ok(redis);
    assert.deepEqual(
      { ...redis },
      {
        kind: 'state',
        name: 'redis',
        metadata: { host: 'h', port: '6379' },
        id: 'state/redis',
        hash: hashComponent({ kind: 'state', name: 'redis', metadata: { host: 'h', port: '6379' } }),
        releaseKeys: ['application@20240101-abc'],
      },
    );
    assert.ok(Object.isFrozen(desired));
    assert.ok(Object.isFrozen(redis));
    assert.ok(Object.isFrozen(redis.metadata));
    assert.ok(Object.isFrozen(redis.releaseKeys));
  });

  it('lets a later layer override an earlier one key by key', () => {
    const desired = mapLayers([
      layer('application', { 'state.redis.host': 'base', 'state.redis.port': '6379', 'lock.redis.host': 'l' }),
      layer('override', { 'state.redis.host': 'override', 'state.redis.db': '2' }),
    ]);
    assert.deepEqual(desired.components.get('state/redis')?.metadata, { db: '2', host: 'override', port: '6379' });
    assert.deepEqual(desired.components.get('state/redis')?.releaseKeys, ['application@rk-application', 'override@rk-override']);
    assert.deepEqual(desired.components.get('lock/redis')?.releaseKeys, ['application@rk-application']);
  });

  it('counts only layers whose values survived as contributors', () => {
    const desired = mapLayers([layer('low', { 'state.redis.host': 'a' }), layer('high', { 'state.redis.host': 'b' })]);
    assert.deepEqual(desired.components.get('state/redis')?.releaseKeys, ['high@rk-high']);
  });

  it('mixes properties, JSON and YAML layers by priority', () => {
    const desired = mapLayers([
      parseNamespace(properties('application', { 'state.redis.host': 'p', 'state.redis.port': '1' }), []),
      parseNamespace(apolloNamespace('c.json', 'json', '{"state":{"redis":{"host":"j"}}}'), []),
      parseNamespace(apolloNamespace('c.yaml', 'yaml', '- {kind: state, name: redis, metadata: {port: 2}}'), []),
    ]);
    assert.deepEqual(desired.components.get('state/redis')?.metadata, { host: 'j', port: '2' });
  });

  it('gives equal hashes for equal content whatever the key order or source', () => {
    const a = mapLayers([layer('application', { 'state.redis.a': '1', 'state.redis.b': '2' })]);
    const b = mapLayers([parseNamespace(apolloNamespace('c.json', 'json', '{"state":{"redis":{"b":"2","a":"1"}}}'), [])]);
    assert.equal(a.components.get('state/redis')?.hash, b.components.get('state/redis')?.hash);
  });

  it('has no component once all its keys are gone, and none for no layers', () => {
    const before = mapLayers([layer('application', { 'state.redis.host': 'h', 'lock.redis.host': 'l' })]);
    assert.deepEqual([...before.components.keys()], ['lock/redis', 'state/redis']);
    const after = mapLayers([layer('application', { 'lock.redis.host': 'l' })]);
    assert.deepEqual([...after.components.keys()], ['lock/redis']);
    assert.equal(mapLayers([]).components.size, 0);
  });

  it('keeps empty values as keys', () => {
    const desired = mapLayers([layer('application', { 'state.redis.redisPassword': '' })]);
    assert.deepEqual(desired.components.get('state/redis')?.metadata, { redisPassword: '' });
  });

  it('collects the warnings of every layer', () => {
    const desired = mapLayers([layer('a', { x: '1' }), layer('b', { y: '2' })]);
    assert.equal(desired.warnings.length, 2);
  });

  it('orders components by id', () => {
    const desired = mapLayers([layer('application', { 'state.z.k': '1', 'lock.a.k': '1', 'state.a.k': '1' })]);
    assert.deepEqual([...desired.components.keys()], ['lock/a', 'state/a', 'state/z']);
  });

  it('uses a component that one layer alone sets as is', () => {
    const low = layer('application', { 'state.redis.host': 'h', 'lock.redis.host': 'l' });
    const high = layer('override', { 'lock.redis.host': 'l2' });
    const desired = mapLayers([low, high]);
    assert.equal(desired.components.get('state/redis'), low.components.find((c) => c.id === 'state/redis'));
    assert.equal(desired.components.get('lock/redis'), high.components[0], 'every surviving key from one layer: that layer\'s component');
  });

  it('hashes a merged component like any other configuration', () => {
    const desired = mapLayers([layer('a', { 'state.redis.z': '1', 'state.redis.m': '1' }), layer('b', { 'state.redis.a': '2', 'state.redis.m': '2' })]);
    const redis = desired.components.get('state/redis')!;
    assert.deepEqual(Object.keys(redis.metadata), ['a', 'm', 'z']);
    assert.equal(redis.hash, hashComponent({ kind: 'state', name: 'redis', metadata: { z: '1', m: '2', a: '2' } }));
    assert.deepEqual(redis.releaseKeys, ['a@rk-a', 'b@rk-b']);
  });
});

describe('mapLayers against the previous result', () => {
  it('keeps the metadata and hash of a merged component that did not change', () => {
    const low = layer('application', { 'state.redis.host': 'h', 'state.redis.port': '1' }, 'r1');
    const high = layer('override', { 'state.redis.port': '2' }, 'o1');
    const first = mapLayers([low, high]);
    const again = mapLayers([layer('application', { 'state.redis.host': 'h', 'state.redis.port': '1', 'lock.a.b': 'c' }, 'r2'), high], first);
    const [before, after] = [first.components.get('state/redis')!, again.components.get('state/redis')!];
    assert.equal(after.metadata, before.metadata);
    assert.equal(after.hash, before.hash);
    assert.deepEqual(after.releaseKeys, ['application@r2', 'override@o1']);
    assert.deepEqual(again, mapLayers([layer('application', { 'state.redis.host': 'h', 'state.redis.port': '1', 'lock.a.b': 'c' }, 'r2'), high]));
  });
});

describe('parseNamespace against the previous layer', () => {
  it('keeps the metadata and hash of what did not change, and hashes what did', () => {
    const before = layer('application', { 'state.redis.host': 'h', 'lock.redis.host': 'l' }, 'r1');
    const after = parseNamespace(properties('application', { 'state.redis.host': 'h', 'lock.redis.host': 'l2' }, 'r2'), [], before);
    const [lockBefore, stateBefore] = before.components;
    const [lockAfter, stateAfter] = after.components;
    assert.equal(stateAfter!.metadata, stateBefore!.metadata);
    assert.equal(stateAfter!.hash, stateBefore!.hash);
    assert.deepEqual(stateAfter!.releaseKeys, ['application@r2'], 'release keys are the new release\'s, as without reuse');
    assert.notEqual(lockAfter!.hash, lockBefore!.hash);
    assert.deepEqual(lockAfter!.metadata, { host: 'l2' });
    assert.deepEqual(after, parseNamespace(properties('application', { 'state.redis.host': 'h', 'lock.redis.host': 'l2' }, 'r2'), []));
  });

  it('reuses whole components when the release is the same (rules replaced)', () => {
    const before = layer('application', { 'state.redis.host': 'h' }, 'r1');
    const again = parseNamespace(properties('application', { 'state.redis.host': 'h' }, 'r1'), [], before);
    assert.equal(again.components[0], before.components[0]);
  });

  it('does not reuse a component whose keys changed but whose values did not', () => {
    const before = layer('application', { 'state.redis.a': 'x' }, 'r1');
    const after = parseNamespace(properties('application', { 'state.redis.b': 'x' }, 'r2'), [], before);
    assert.deepEqual(after.components[0]?.metadata, { b: 'x' });
    assert.notEqual(after.components[0]?.hash, before.components[0]?.hash);
  });
});

describe('parseNamespace against the previous layer, whatever changed', () => {
  const base: Record<string, string> = {
    'state.redis.host': 'h',
    'state.redis.port': '1',
    'lock.redis.host': 'l',
    'oss.demo.endpoint': 'e',
    'oss.demo.__proto__': 'p',
    'server.port': '8080',
  };
  const previous = layer('application', base, 'r1');
  const { 'state.redis.port': _port, ...withoutPort } = base;
  const { 'lock.redis.host': _lock, ...withoutLock } = base;
  const { 'oss.demo.endpoint': _endpoint, ...withoutEndpoint } = base;
  const changes: [string, Record<string, string>][] = [
    ['nothing', base],
    ['a value', { ...base, 'state.redis.port': '2' }],
    ['a key added', { ...base, 'state.redis.db': '0' }],
    ['a key removed', withoutPort],
    ['a component added', { ...base, 'sequencer.redis.host': 's' }],
    ['a component removed', withoutLock],
    ['a key renamed, values kept', { ...withoutEndpoint, 'oss.demo.url': 'e' }],
    ['a key moved to another component', { ...withoutEndpoint, 'oss.other.endpoint': 'e' }],
    ['the same keys in another order', Object.fromEntries(Object.entries(base).reverse())],
    ['a name holding a slash', { ...base, 'a.b/c.y': '2' }],
  ];
  for (const [label, configurations] of changes) {
    it(`maps ${label} exactly as a fresh read does, lending what did not change`, () => {
      const next = properties('application', configurations, 'r2');
      const lent = parseNamespace(next, [], previous);
      assert.deepEqual(lent, parseNamespace(next, []));
      for (const component of lent.components) {
        const before = previous.components.find((c) => c.id === component.id);
        if (before !== undefined && before.hash === component.hash) assert.equal(component.metadata, before.metadata, component.id);
      }
    });
  }
});

describe('component hashes', () => {
  const hash = (kind: string, name: string, metadata: Record<string, string>): string => hashComponent({ kind, name, metadata });

  it('frame every string, so moving text between kind, name, keys and values changes the hash', () => {
    const hashes = [
      hash('ab', 'c', { k: 'v' }),
      hash('a', 'bc', { k: 'v' }),
      hash('a', 'b', { ck: 'v' }),
      hash('a', 'b', { k: 'v', x: '' }),
      hash('a', 'b', { kv: '' }),
      hash('a', 'b', { k: 'v1:x' }),
      hash('a', 'b', { k: 'v1', x: '' }),
      hash('a', 'b', {}),
    ];
    assert.equal(new Set(hashes).size, hashes.length);
  });

  it('do not depend on key order, and agree with what the mapper computes for any keys', () => {
    assert.equal(hash('s', 'r', { b: '1', a: '2' }), hash('s', 'r', { a: '2', b: '1' }));
    const configurations = { 'state.redis.z': '1', 'state.redis.10': 'ten', 'state.redis.9': 'nine', 'state.redis.__proto__': 'p', 'state.redis.A': 'a' };
    const redis = mapLayers([layer('application', configurations)]).components.get('state/redis')!;
    const metadata = Object.fromEntries([['9', 'nine'], ['__proto__', 'p'], ['z', '1'], ['A', 'a'], ['10', 'ten']]) as Record<string, string>;
    assert.equal(redis.hash, hashComponent({ kind: 'state', name: 'redis', metadata }));
    assert.deepEqual(redis.metadata, metadata);
  });
});

