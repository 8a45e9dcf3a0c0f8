import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonText, joinBetween } from '../../src/core/json-text.ts';
import { encodeFrame, encodeFrameParts, PROTOCOL_VERSION } from '../../src/ipc/frames.ts';

/**
 * An enumeration page is written without extra copies: its texts joined once between the page's head
 * and tail, and the frame's envelope written around that text. The result must be the very frame.
 */

test('joinBetween is head, the texts joined with commas, and tail, for any number of texts', () => {
  assert.equal(joinBetween('[', [], ']'), '[]');
  assert.equal(joinBetween('[', ['1'], ']'), '[1]');
  assert.equal(joinBetween('{"rows":[', ['[1]', '[2]', '[3]'], '],"next":null}'), '{"rows":[[1],[2],[3]],"next":null}');
  const texts = ['"a"', '"b"'];
  joinBetween('[', texts, ']');
  assert.deepEqual(texts, ['"a"', '"b"'], "the caller's array is left as it was");
});

test('a JsonText reply in parts is the frame JSON.stringify writes of the parsed value', () => {
  const result = {
    appId: 'app',
    rows: [
      [1, 'x'],
      [2, null],
    ],
    next: { seq: 2, guid: 'g' },
  };
  const text = joinBetween('{"appId":"app","rows":[', ['[1,"x"]', '[2,null]'], '],"next":{"seq":2,"guid":"g"}}');
  const frame = { v: PROTOCOL_VERSION, id: 7, ok: true, result: new JsonText(text) } as const;
  const parts = encodeFrameParts(frame);
  assert.equal(parts.length, 3);
  assert.equal(parts[1], text, 'the page text is written as it is');
  const expected = `${JSON.stringify({ v: PROTOCOL_VERSION, id: 7, ok: true, result })}\n`;
  assert.equal(parts.join(''), expected);
  assert.equal(encodeFrame(frame), expected);
  assert.deepEqual(encodeFrameParts({ v: PROTOCOL_VERSION, id: 8, ok: true, result }), [
    `${JSON.stringify({ v: PROTOCOL_VERSION, id: 8, ok: true, result })}\n`,
  ]);
});
