import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APPLY_CONFIGURATION_PATH, decodeApplyConfigurationResponse, encodeDynamicConfiguration, type LifecycleComponent } from '../../src/sidecar/lifecycle-codec.js';
import { lifecycleService } from '../support/lifecycle-proto.js';

/** protobufjs through proto-loader, as the agent encoded the request before and as the fake Layotto decodes it. */
const { applyConfiguration } = lifecycleService();
const oracle = (component: { kind: string; name: string; metadata: Record<string, string> }): Buffer =>
  applyConfiguration.requestSerialize({ componentConfig: component });

/** Mulberry32: a seeded generator, so a failing case can be replayed from the seed in the message. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Code points from every UTF-8 length class: ASCII, 2-byte, 3-byte (BMP), 4-byte (astral, a surrogate pair in JS). */
const RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x00, 0x7f],
  [0x80, 0x7ff],
  [0x800, 0xd7ff],
  [0xe000, 0xffff],
  [0x10000, 0x10ffff],
];

function randomString(next: () => number): string {
  const shape = next();
  // Empty strings, short ones, and ones of 40 code units or more (protobufjs writes those through Buffer, shorter ones itself).
  const length = shape < 0.1 ? 0 : shape < 0.7 ? Math.floor(next() * 12) : 40 + Math.floor(next() * 200);
  let text = '';
  for (let index = 0; index < length; index += 1) {
    const [low, high] = RANGES[Math.floor(next() * RANGES.length)]!;
    text += String.fromCodePoint(low + Math.floor(next() * (high - low + 1)));
  }
  return text;
}

function randomKey(next: () => number): string {
  const shape = next();
  // Array-index-like keys, which an object lists first, and keys that only look like one.
  if (shape < 0.1) return String(Math.floor(next() * 1000));
  if (shape < 0.15) return `0${Math.floor(next() * 100)}`;
  return randomString(next);
}

function randomComponent(next: () => number): { kind: string; name: string; metadata: Record<string, string> } {
  const shape = next();
  const count = shape < 0.1 ? 0 : shape < 0.9 ? Math.floor(next() * 20) : 100 + Math.floor(next() * 400);
  const metadata: Record<string, string> = {};
  for (let index = 0; index < count; index += 1) metadata[randomKey(next)] = randomString(next);
  return { kind: randomString(next), name: randomString(next), metadata };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('encodeDynamicConfiguration', () => {
  test('writes the bytes protobufjs writes, for 3,000 random messages given as an object and as a map', () => {
    const seed = Number(process.env.CODEC_SEED ?? Date.now() % 1_000_000);
    const next = random(seed);
    for (let round = 0; round < 3_000; round += 1) {
      const component = randomComponent(next);
      const expected = hex(oracle(component));
      assert.equal(hex(encodeDynamicConfiguration(component)), expected, `object, seed ${seed}, round ${round}`);
      const asMap: LifecycleComponent = { ...component, metadata: new Map(Object.entries(component.metadata)) };
      assert.equal(hex(encodeDynamicConfiguration(asMap)), expected, `map, seed ${seed}, round ${round}`);
    }
  });

  test('a map lists array-index keys first and ascending, as the same entries in an object would be', () => {
    const metadata = new Map([['b', '1'], ['10', '2'], ['a', '3'], ['2', '4'], ['02', '5'], ['4294967295', '6'], ['4294967294', '7']]);
    const expected = oracle({ kind: 'state', name: 'redis', metadata: Object.fromEntries(metadata) });
    assert.equal(hex(encodeDynamicConfiguration({ kind: 'state', name: 'redis', metadata })), hex(expected));
  });

  test('lengths past one varint byte: a value of 200 bytes and a message of several MB', () => {
    const metadata = { small: 'x'.repeat(200), large: 'é'.repeat(1_500_000) };
    const component = { kind: 'k'.repeat(130), name: 'n', metadata };
    const bytes = encodeDynamicConfiguration(component);
    assert.ok(bytes.length > 3_000_000);
    assert.ok(Buffer.from(bytes).equals(oracle(component)));
  });

  test('empty strings are written, as protobufjs writes a field that is present', () => {
    assert.equal(hex(encodeDynamicConfiguration({ kind: '', name: '', metadata: { '': '' } })), '0a0a0a0012001a040a001200');
  });

  test('the fake Layotto’s decoder (protobufjs) reads back what was encoded', () => {
    const next = random(7);
    for (let round = 0; round < 200; round += 1) {
      const component = randomComponent(next);
      const decoded = applyConfiguration.requestDeserialize(Buffer.from(encodeDynamicConfiguration(component)));
      assert.deepEqual(decoded.componentConfig, component);
    }
  });

  test('a key named __proto__ is sent (protobufjs would drop it: it assigns map keys onto a plain object)', () => {
    const metadata = JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>;
    const decoded = applyConfiguration.requestDeserialize(Buffer.from(encodeDynamicConfiguration({ kind: 'k', name: 'n', metadata })));
    assert.deepEqual(Object.entries(decoded.componentConfig!.metadata!), [['__proto__', 'x'], ['a', 'b']]);
  });

  test('a lone surrogate is sent as U+FFFD, valid UTF-8 whatever the string’s length', () => {
    for (const value of ['\ud800', `${'a'.repeat(50)}\udc00`]) {
      const bytes = Buffer.from(encodeDynamicConfiguration({ kind: 'k', name: 'n', metadata: { v: value } }));
      assert.equal(new TextDecoder('utf-8', { fatal: true }).decode(bytes).includes('\ufffd'), true);
    }
  });
});

test('ApplyConfigurationResponse: an empty message, whatever unknown fields it carries', () => {
  assert.deepEqual(decodeApplyConfigurationResponse(new Uint8Array()), {});
  assert.deepEqual(decodeApplyConfigurationResponse(Uint8Array.of(0x0a, 0x01, 0x41)), {});
});

test('the method path is the one proto/lifecycle.proto declares', () => {
  assert.equal(APPLY_CONFIGURATION_PATH, applyConfiguration.path);
});
