import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProperties, parseProperties, propertiesComments } from '../../src/sources/apollo/properties-codec.js';

test('odd keys and values survive a round trip', () => {
  const entries = {
    'state.redis.host': 'localhost:6379',
    'key with spaces': ' leading and trailing ',
    'a=b:c#d!e': 'x=y:z#!',
    'multi.line': 'one\ntwo\r\nthree\tfour\f',
    'back\\slash': 'c:\\path\\',
    unicode: 'héllo 世界 🚀',
    empty: '',
  };
  assert.deepEqual(parseProperties(formatProperties(entries)), entries);
});

test('escapes like java.util.Properties.store and stays ASCII', () => {
  const text = formatProperties({ 'a b': ' x=1', é: 'ü' });
  assert.equal(text, 'a\\ b=\\ x\\=1\n\\u00E9=\\u00FC\n');
});

test('reads what Java writes: separators, continuations, comments', () => {
  const text = [
    '#Persisted by DefaultConfig',
    '!another comment',
    '',
    'plain=value',
    'colon: value two',
    'spaced   value three',
    'continued = first \\',
    '    second',
    'escaped\\ key = v',
    'unicode=\\u4e16',
  ].join('\r\n');
  assert.deepEqual(parseProperties(text), {
    plain: 'value',
    colon: 'value two',
    spaced: 'value three',
    continued: 'first second',
    'escaped key': 'v',
    unicode: '世',
  });
});

test('comments are one ASCII line each and read back raw', () => {
  const text = formatProperties({ k: 'v' }, ['header {"releaseKey":"ü\\n"}', 'line\nbreak']);
  const comments = propertiesComments(text);
  assert.equal(comments.length, 2);
  assert.equal(comments[0], 'header {"releaseKey":"\\u00fc\\n"}');
  assert.deepEqual(JSON.parse(comments[0]!.slice('header '.length)), { releaseKey: 'ü\n' });
  assert.deepEqual(parseProperties(text), { k: 'v' });
});
