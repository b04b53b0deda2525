import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LineSplitter } from './line-splitter.ts';

describe('LineSplitter', () => {
  test('holds a partial line until its newline arrives', () => {
    const splitter = new LineSplitter();
    assert.deepEqual(splitter.push('hel'), []);
    assert.deepEqual(splitter.push('lo\nwor'), ['hello']);
    assert.deepEqual(splitter.push('ld\n\nlast'), ['world', '']);
    assert.deepEqual(splitter.end(), ['last']);
    assert.deepEqual(splitter.end(), []);
  });

  test('CRLF reads like LF, also when the CR and LF arrive in different chunks', () => {
    const splitter = new LineSplitter();
    assert.deepEqual(splitter.push('a\r\nb\r'), ['a']);
    assert.deepEqual(splitter.push('\nc\r\n'), ['b', 'c']);
    assert.deepEqual(splitter.push('tail\r'), []);
    assert.deepEqual(splitter.end(), ['tail']);
  });

  test('a lone CR inside a line (a progress bar) stays in the line', () => {
    const splitter = new LineSplitter();
    assert.deepEqual(splitter.push('10%\r50%\r100%\n'), ['10%\r50%\r100%']);
  });

  test('very long lines are cut into pieces of the maximum length, also before their newline', () => {
    const splitter = new LineSplitter(10);
    assert.deepEqual(splitter.push('x'.repeat(25)), ['x'.repeat(10), 'x'.repeat(10)]);
    assert.deepEqual(splitter.push('y\n'), ['xxxxxy']);
    assert.deepEqual(splitter.push(`${'z'.repeat(21)}\n`), ['z'.repeat(10), 'z'.repeat(10), 'z']);
    assert.deepEqual(splitter.push('a'.repeat(10)), []);
    assert.deepEqual(splitter.end(), ['a'.repeat(10)]);
  });

  test('never cuts between the halves of a surrogate pair', () => {
    const splitter = new LineSplitter(4);
    const lines = splitter.push('abc😀def\n');
    assert.deepEqual(lines, ['abc', '😀de', 'f']);
    for (const line of lines) assert.doesNotMatch(line, /[\uD800-\uDBFF]$|^[\uDC00-\uDFFF]/);
  });

  test('the default maximum fits the wire limit', () => {
    const splitter = new LineSplitter();
    const lines = splitter.push(`${'m'.repeat(40_000)}\n`);
    assert.equal(lines.join(''), 'm'.repeat(40_000));
    for (const line of lines) assert.ok(line.length <= 16_384);
  });
});
