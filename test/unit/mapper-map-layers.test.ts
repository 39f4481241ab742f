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
});
