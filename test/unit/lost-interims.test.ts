import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  creationsUnanswered,
  forgetLostInterims,
  interimsLost,
  LOST_INTERIMS_FOR_MS,
  markCreationUnanswered,
  markInterimsLost,
} from '../../src/protocols/ietf/lost-interims.ts';

test('a lost 104 is believed for a while, per endpoint path, whatever the query or userinfo', () => {
  const url = new URL('https://user:pw@lost.example:8443/up/load?sig=1');
  assert.equal(interimsLost(url, 1_000), false);
  markInterimsLost(url, 1_000);
  assert.equal(interimsLost(new URL('https://lost.example:8443/up/load?sig=2'), 2_000), true);
  assert.equal(interimsLost(new URL('https://lost.example:8443/other'), 2_000), false, 'another path');
  assert.equal(interimsLost(new URL('http://lost.example:8443/up/load'), 2_000), false, 'another scheme');
  assert.equal(interimsLost(url, 1_000 + LOST_INTERIMS_FOR_MS - 1), true);
  assert.equal(interimsLost(url, 1_000 + LOST_INTERIMS_FOR_MS), false, 'expired');
  assert.equal(interimsLost(url, 1_000), false, 'an expired mark is gone');
});

test('forgetting a mark, and the oldest marks go first once 1,024 endpoints are marked', () => {
  const first = new URL('http://bound.example/0');
  markInterimsLost(first, 5_000);
  forgetLostInterims(first);
  assert.equal(interimsLost(first, 5_001), false);
  for (let index = 0; index <= 1024; index += 1) markInterimsLost(new URL(`http://bound.example/${index}`), 5_000);
  assert.equal(interimsLost(new URL('http://bound.example/0'), 5_001), false, 'the oldest was dropped');
  assert.equal(interimsLost(new URL('http://bound.example/1024'), 5_001), true);
  assert.equal(interimsLost(new URL('http://bound.example/1'), 5_001), true);
});

test('an unanswered creation makes the next ones wait; a lost 104 does too; neither once the endpoint is plain', () => {
  const url = new URL('http://unanswered.example/up');
  assert.equal(creationsUnanswered(url, 10_000), false);
  markCreationUnanswered(url, 10_000);
  assert.equal(creationsUnanswered(url, 10_001), true);
  assert.equal(interimsLost(url, 10_001), false, 'unanswered is not yet lost: the wait finds out');
  assert.equal(creationsUnanswered(url, 10_000 + LOST_INTERIMS_FOR_MS), false, 'expired');

  markCreationUnanswered(url, 20_000);
  markInterimsLost(url, 20_000);
  assert.equal(creationsUnanswered(url, 20_001), true, 'a lost 104 also makes a creation wait (and skip it)');
  forgetLostInterims(url);
  assert.equal(creationsUnanswered(url, 20_002), false);
  assert.equal(interimsLost(url, 20_002), false);
});
