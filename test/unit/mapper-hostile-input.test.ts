/**
 * Content written to hurt (issue 11): keys named like Object's own properties, a "/" that would
 * merge two components, lone surrogates, alias bombs and maps too large for a quadratic parser.
 * Each must be carried or rejected with a clear problem, the same way in every format.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MappingError } from '../../src/domain/errors.js';
import { mapLayers } from '../../src/mapper/map-layers.js';
import { parseNamespace } from '../../src/mapper/parse-namespace.js';
import { componentRuleSchema } from '../../src/mapper/rules.js';
import { MAX_YAML_ALIAS_COUNT, MAX_YAML_BYTES } from '../../src/mapper/structured-entries.js';
import { apolloNamespace, properties } from '../fixtures/namespaces.js';

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof MappingError, `expected MappingError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a MappingError');
}

function componentsOf(ns: ReturnType<typeof apolloNamespace>): [string, string, string, string[]][] {
  return parseNamespace(ns, []).components.map((c) => [c.id, c.kind, c.name, Object.keys(c.metadata)]);
}

describe('hostile input: names like Object properties are data in every format', () => {
  const expected = [
    ['__proto__/redis', '__proto__', 'redis', ['a']],
    ['state/__proto__', 'state', '__proto__', ['b']],
    ['state/r', 'state', 'r', ['__proto__', 'constructor']],
  ];
  it('properties', () => {
    const configurations = JSON.parse('{"__proto__.redis.a":"1","state.__proto__.b":"2","state.r.__proto__":"3","state.r.constructor":"4"}') as Record<string, string>;
    assert.deepEqual(componentsOf(properties('application', configurations)), expected);
  });
  it('JSON', () => {
    const json = '{"__proto__":{"redis":{"a":"1"}},"state":{"__proto__":{"b":"2"},"r":{"__proto__":"3","constructor":"4"}}}';
    assert.deepEqual(componentsOf(apolloNamespace('c.json', 'json', json)), expected);
  });
  it('YAML', () => {
    const yaml = '__proto__:\n  redis: {a: 1}\nstate:\n  __proto__: {b: 2}\n  r: {__proto__: 3, constructor: 4}\n';
    assert.deepEqual(componentsOf(apolloNamespace('c.yaml', 'yaml', yaml)), expected);
  });
  it('a nested value keeps a __proto__ key in its JSON', () => {
    const yaml = 'state:\n  r:\n    pool: {__proto__: {x: 1}}\n';
    const [component] = parseNamespace(apolloNamespace('c.yaml', 'yaml', yaml), []).components;
    assert.equal(component?.metadata['pool'], '{"__proto__":{"x":1}}');
  });
});

describe('hostile input: a "/" in a kind is refused in every format', () => {
  for (const [format, content] of [
    ['json', '[{"kind":"a/b","name":"c","metadata":{"x":"1"}},{"kind":"a","name":"b/c","metadata":{"y":"2"}}]'],
    ['yaml', 'a/b:\n  c: {x: 1}\na:\n  b/c: {y: 2}\n'],
  ] as const) {
    it(format, () => {
      const problems = problemsOf(() => parseNamespace(apolloNamespace(`c.${format}`, format, content), []));
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /kind "a\/b" contains "\/"/);
    });
  }
  it('in a mapping rule', () => {
    assert.ok(!componentRuleSchema.safeParse({ kind: 'a/b', name: 'c', prefix: 'x.' }).success);
  });
});

describe('hostile input: a lone UTF-16 surrogate rejects the release, naming the key', () => {
  it('in a properties value or key', () => {
    assert.deepEqual(problemsOf(() => parseNamespace(properties('application', { 'state.redis.host': 'a\ud800', 'state.redis.ok': 'fine' }), [])), [
      'value of key "state.redis.host" contains a lone UTF-16 surrogate, which has no UTF-8 form',
    ]);
    const [problem] = problemsOf(() => parseNamespace(properties('application', { 'state.redis.h\udc00': 'v' }), []));
    assert.equal(problem, 'key "state.redis.h\udc00" contains a lone UTF-16 surrogate, which has no UTF-8 form');
  });
  it('in JSON and YAML (escaped in the text)', () => {
    const json = '{"state":{"redis":{"host":"a\\ud800"}}}';
    assert.deepEqual(problemsOf(() => parseNamespace(apolloNamespace('c.json', 'json', json), [])), [
      'value of key "state.redis.host" contains a lone UTF-16 surrogate, which has no UTF-8 form',
    ]);
    const yaml = 'state:\n  redis:\n    host: "a\\ud800"\n';
    assert.deepEqual(problemsOf(() => parseNamespace(apolloNamespace('c.yaml', 'yaml', yaml), [])), [
      'value of key "state.redis.host" contains a lone UTF-16 surrogate, which has no UTF-8 form',
    ]);
  });
  it('in the wrong order, two halves are two lone surrogates', () => {
    assert.equal(problemsOf(() => parseNamespace(properties('application', { 'state.redis.e': 'x\udc00\ud800y' }), [])).length, 1);
  });
  it('while a well-formed pair (an emoji) is kept', () => {
    assert.equal(parseNamespace(properties('application', { 'state.redis.e': '\ud83d\ude00' }), []).components[0]?.metadata['e'], '\ud83d\ude00');
  });
  it('names the namespace in the error', () => {
    assert.throws(() => parseNamespace(properties('application', { 'state.redis.host': '\udfff' }), []), /cannot map namespace application: value of key "state\.redis\.host"/);
  });
});

describe('hostile input: YAML that costs more than its size', () => {
  it('an anchor with 20,000 aliases is refused at once by the library limit', () => {
    const yaml = `state:\n  r:\n    v: &c x\nlist:\n${'  - *c\n'.repeat(20_000)}`;
    const started = performance.now();
    const [problem] = problemsOf(() => parseNamespace(apolloNamespace('c.yaml', 'yaml', yaml), []));
    const ms = performance.now() - started;
    assert.match(problem!, new RegExp(`YAML aliases expand too far \\(at most ${MAX_YAML_ALIAS_COUNT} uses`));
    assert.ok(ms < 10_000, `refused in ${Math.round(ms)} ms (was 55 s)`);
  });
  it('nested aliases (a billion laughs) are refused below the value depth too', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i += 1) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const yaml = `state:\n  r:\n    v:\n${lines.map((l) => `      ${l}`).join('\n')}\n`;
    assert.match(problemsOf(() => parseNamespace(apolloNamespace('c.yaml', 'yaml', yaml), []))[0]!, /aliases expand too far/);
  });
  it('a few aliases are still read, in document order', () => {
    const yaml = 'defaults: &d {host: h, port: 1}\nstate:\n  r: *d\nlock:\n  r: *d\n';
    const problems = problemsOf(() => parseNamespace(apolloNamespace('c.yaml', 'yaml', yaml), []));
    assert.match(problems.join('\n'), /defaults\.host: expected a map of metadata/, 'defaults is read as a kind');
    const ok = 'state:\n  r: &d {host: h, port: 1}\nlock:\n  r: *d\n';
    assert.deepEqual(componentsOf(apolloNamespace('c.yaml', 'yaml', ok)), [
      ['lock/r', 'lock', 'r', ['host', 'port']],
      ['state/r', 'state', 'r', ['host', 'port']],
    ]);
  });
  it('a map of 50,000 names is read in linear time (the library duplicate-key check was quadratic: about 30 s)', () => {
    const yaml = `state:\n${Array.from({ length: 50_000 }, (_, i) => `  n${i}: {k: v}`).join('\n')}\n`;
    assert.ok(Buffer.byteLength(yaml) < MAX_YAML_BYTES);
    const started = performance.now();
    assert.equal(parseNamespace(apolloNamespace('c.yaml', 'yaml', yaml), []).components.length, 50_000);
    const ms = performance.now() - started;
    assert.ok(ms < 15_000, `read in ${Math.round(ms)} ms`);
  });
  it('a YAML text over 1 MiB is refused before it is parsed (the parse would stall the agent for seconds)', () => {
    const yaml = `state:\n  r:\n    v: "${'x'.repeat(MAX_YAML_BYTES)}"\n`;
    const started = performance.now();
    assert.match(problemsOf(() => parseNamespace(apolloNamespace('c.yaml', 'yaml', yaml), []))[0]!, /over the limit of 1048576: split it into several namespaces or use JSON/);
    assert.ok(performance.now() - started < 1_000);
  });
  it('a duplicate key is still refused', () => {
    assert.match(problemsOf(() => parseNamespace(apolloNamespace('c.yaml', 'yaml', 'state:\n  r: {a: 1}\n  r: {a: 2}\n'), []))[0]!, /map key "r" appears twice/);
  });
});

describe('hostile input: many layers', () => {
  it('merges 20,000 layers (a directory of 20,000 files) in time linear in their size (was 31 s)', () => {
    const layers = Array.from({ length: 20_000 }, (_, i) => parseNamespace(properties(`f${i}`, { [`state.c${i % 10_000}.k${i}`]: 'v' }), []));
    const started = performance.now();
    const desired = mapLayers(layers);
    const ms = performance.now() - started;
    assert.equal(desired.components.size, 10_000);
    assert.deepEqual(Object.keys(desired.components.get('state/c7')!.metadata), ['k10007', 'k7']);
    assert.ok(ms < 8_000, `merged in ${Math.round(ms)} ms`);
  });
});
