import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProperties, PropertiesSyntaxError, propertiesComments, stringifyProperties } from '../../src/sources/properties-text.js';

describe('parseProperties', () => {
  it('reads =, : and whitespace separators with surrounding whitespace', () => {
    assert.deepEqual(parseProperties('a=1\nb = 2\nc:3\nd : 4\ne 5\n  f\t=\t6\ng\n'), { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6', g: '' });
  });

  it('skips comments and blank lines, but not # inside values', () => {
    assert.deepEqual(parseProperties('# comment\n! also\n\n   \n  # indented\nurl=http://x/#frag\n'), { url: 'http://x/#frag' });
  });

  it('keeps everything after the first separator, including more separators', () => {
    assert.deepEqual(parseProperties('url=jdbc:mysql://h:3306/db?a=b\nk: =v\n'), { url: 'jdbc:mysql://h:3306/db?a=b', k: '=v' });
  });

  it('handles escapes in keys and values', () => {
    assert.deepEqual(parseProperties('key\\ with\\ space=1\nk\\=eq\\:col=2\nv=tab\\there\\nnew\\\\back\\u00e9\\q\n'), {
      'key with space': '1',
      'k=eq:col': '2',
      v: 'tab\there\nnew\\backéq',
    });
  });

  it('joins continued lines, dropping the leading whitespace of each continuation', () => {
    assert.deepEqual(parseProperties('list=a,\\\n    b,\\\n    c\nnext=1\n'), { list: 'a,b,c', next: '1' });
  });

  it('does not continue after an even number of backslashes', () => {
    assert.deepEqual(parseProperties('path=C:\\\\\nnext=1\n'), { path: 'C:\\', next: '1' });
  });

  it('does not continue comment lines', () => {
    assert.deepEqual(parseProperties('# comment \\\nkey=v\n'), { key: 'v' });
  });

  it('drops a continuation at the end of the text', () => {
    assert.deepEqual(parseProperties('a=1\\'), { a: '1' });
  });

  it('handles CRLF, CR, a BOM, UTF-8 text and duplicate keys (last wins)', () => {
    assert.deepEqual(parseProperties('\uFEFFa=1\r\nb=世界\rc=x\r\na=2'), { a: '2', b: '世界', c: 'x' });
  });

  it('keeps trailing whitespace of values', () => {
    assert.deepEqual(parseProperties('a=1  \n'), { a: '1  ' });
  });

  it('rejects a malformed \\u escape with its line number', () => {
    assert.throws(() => parseProperties('ok=1\nbad=\\u12G4\n'), (error: unknown) => error instanceof PropertiesSyntaxError && /line 2/.test(error.message));
  });
});

describe('stringifyProperties', () => {
  it('writes pairs that read back identically', () => {
    const pairs: [string, string][] = [
      ['plain', 'value'],
      ['with space', ' leading and trailing '],
      ['sep=:', 'a=b:c'],
      ['#hash', '!bang'],
      ['!bang', '#hash'],
      ['multi', 'a\nb\r\nc\fd\te'],
      ['control', '\u0001\u007f'],
      ['back\\slash', 'end\\'],
      ['unicode', 'héllo 🚀'],
      ['empty', ''],
      ['', 'empty key'],
    ];
    assert.deepEqual(parseProperties(stringifyProperties(pairs)), Object.fromEntries(pairs));
  });

  it('leaves ordinary values readable', () => {
    assert.equal(stringifyProperties([['a.b.c', 'http://h:80/?x=y#z']]), 'a.b.c=http://h:80/?x=y#z\n');
  });
});

describe('properties as the Apollo local cache writes them', () => {
  it('odd keys and values survive a round trip', () => {
    const entries = {
      'state.redis.host': 'localhost:6379',
      'key with spaces': ' leading and trailing ',
      'a=b:c#d!e': 'x=y:z#!',
      'multi.line': 'one\ntwo\r\nthree\tfour\f',
      'back\\slash': 'c:\\path\\',
      unicode: 'héllo 世界 🚀',
      empty: '',
    };
    assert.deepEqual(parseProperties(stringifyProperties(Object.entries(entries), { ascii: true })), entries);
  });

  it('ascii output escapes like java.util.Properties.store', () => {
    const text = stringifyProperties([['a b', ' x=1'], ['é', 'ü'], ['emoji', '🚀']], { ascii: true });
    assert.equal(text, 'a\\ b=\\ x=1\n\\u00E9=\\u00FC\nemoji=\\uD83D\\uDE80\n');
  });

  it('reads what Java writes: separators, continuations, comments', () => {
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

  it('comments are one ASCII line each and read back raw', () => {
    const text = stringifyProperties([['k', 'v']], { comments: ['header {"releaseKey":"ü\\n"}', 'line\nbreak'] });
    const comments = propertiesComments(text);
    assert.equal(comments.length, 2);
    assert.equal(comments[0], 'header {"releaseKey":"\\u00FC\\n"}');
    assert.deepEqual(JSON.parse(comments[0]!.slice('header '.length)), { releaseKey: 'ü\n' });
    assert.deepEqual(parseProperties(text), { k: 'v' });
  });
});
