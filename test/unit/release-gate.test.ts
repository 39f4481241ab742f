import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReleaseGate } from '../../src/app/release-gate.js';
import { freezeSnapshot, namespaceRelease, snapshotRevision, type NamespaceContent, type SourceSnapshot } from '../../src/domain/snapshot.js';

function ns(name: string, releaseKey: string, configurations: Record<string, string>, format: NamespaceContent['format'] = 'properties'): NamespaceContent {
  return namespaceRelease({ key: `apollo:${name}`, name, format, configurations, releaseKey, origin: 'apollo' });
}

function snapshot(sourceId: string, namespaces: NamespaceContent[]): SourceSnapshot {
  return freezeSnapshot({ sourceId, revision: snapshotRevision(namespaces), namespaces, observedAt: 0 });
}

describe('ReleaseGate', () => {
  it('waits for every source before it is complete, and ranks sources in the given order', () => {
    const gate = new ReleaseGate([], ['file', 'apollo']);
    gate.accept(snapshot('apollo', [ns('application', 'r1', { 'state.redis.host': 'apollo' })]));
    assert.equal(gate.isComplete(), false);
    gate.accept(snapshot('file', [namespaceRelease({ ...ns('/etc/a.properties', 'h1', { 'state.redis.host': 'file', 'state.redis.port': '1' }), key: 'file:/etc/a.properties', origin: 'file' })]));
    assert.equal(gate.isComplete(), true);
    assert.deepEqual(gate.desired().components.get('state/redis')?.metadata, { host: 'apollo', port: '1' });
  });

  it('rejects a bad release whole and keeps the last good one of that namespace only', () => {
    const gate = new ReleaseGate([], ['apollo']);
    gate.accept(snapshot('apollo', [ns('application', 'r1', { 'state.redis.a': '1' }), ns('redis.json', 'j1', { content: '{"lock":{"redis":{"b":"1"}}}' }, 'json')]));
    const rejected = gate.accept(
      snapshot('apollo', [ns('application', 'r2', { 'state.redis.a': '2' }), ns('redis.json', 'j2', { content: '{"lock":' }, 'json')]),
    );
    assert.deepEqual(rejected.map((r) => [r.namespace, r.releaseKey]), [['redis.json', 'j2']]);
    const desired = gate.desired();
    assert.deepEqual(desired.components.get('state/redis')?.metadata, { a: '2' }, 'the good namespace moved on');
    assert.deepEqual(desired.components.get('lock/redis')?.metadata, { b: '1' }, 'the bad one kept its last good release');
  });

  it('a first release that is bad leaves nothing of that namespace', () => {
    const gate = new ReleaseGate([], ['apollo']);
    const rejected = gate.accept(snapshot('apollo', [ns('notes.xml', 'x1', { content: '<a/>' }, 'xml')]));
    assert.equal(rejected.length, 1);
    assert.equal(gate.desired().components.size, 0);
  });

  it('replaces rules all or nothing', () => {
    const gate = new ReleaseGate([], ['apollo']);
    gate.accept(snapshot('apollo', [ns('application', 'r1', { 'redis.host': 'h', 'state.x.y': '1' })]));
    assert.deepEqual([...gate.desired().components.keys()], ['state/x']);
    assert.deepEqual(gate.replaceRules([{ kind: 'state', name: 'redis', prefix: 'redis.' }]), []);
    assert.deepEqual(gate.desired().components.get('state/redis')?.metadata, { host: 'h' });
  });
});

describe('ReleaseGate rejections', () => {
  it('reports a bad release once, however many snapshots still carry it', () => {
    const gate = new ReleaseGate([], ['apollo']);
    const good = ns('application', 'r1', { 'state.redis.a': '1' });
    const bad = ns('redis.json', 'bad1', { content: '{' }, 'json');
    assert.equal(gate.accept(snapshot('apollo', [good, bad])).length, 1);
    assert.equal(gate.accept(snapshot('apollo', [ns('application', 'r2', { 'state.redis.a': '2' }), bad])).length, 0);
    assert.deepEqual(gate.desired().components.get('state/redis')?.metadata, { a: '2' });
    const fixed = ns('redis.json', 'ok1', { content: '{"lock":{"redis":{"b":"1"}}}' }, 'json');
    assert.equal(gate.accept(snapshot('apollo', [good, fixed])).length, 0);
    assert.equal(gate.accept(snapshot('apollo', [good, bad])).length, 1, 'the same bad release coming back is news again');
  });

  it('maps again only when a layer changed, and lends unchanged components to the next release', () => {
    const gate = new ReleaseGate([], ['apollo']);
    gate.accept(snapshot('apollo', [ns('application', 'r1', { 'state.redis.a': '1', 'lock.redis.a': '1' }), ns('other', 'o1', { 'oss.x.a': '1' })]));
    const first = gate.desired();
    assert.equal(gate.desired(), first);
    gate.accept(snapshot('apollo', [ns('application', 'r2', { 'state.redis.a': '1', 'lock.redis.a': '2' }), ns('other', 'o1', { 'oss.x.a': '1' })]));
    const second = gate.desired();
    assert.notEqual(second, first);
    assert.equal(second.components.get('oss/x'), first.components.get('oss/x'), 'the untouched namespace: the same component');
    assert.equal(second.components.get('state/redis')?.hash, first.components.get('state/redis')?.hash);
    assert.equal(second.components.get('state/redis')?.metadata, first.components.get('state/redis')?.metadata);
    assert.deepEqual(second.components.get('state/redis')?.releaseKeys, ['application@r2']);
    assert.notEqual(second.components.get('lock/redis')?.hash, first.components.get('lock/redis')?.hash);
  });
});
