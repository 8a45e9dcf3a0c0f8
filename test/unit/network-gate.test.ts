import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackgroundTransferCostPolicy as C, BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { gateEvent, networkGate } from '../../src/engine/network-gate.ts';
import { rotateGroup } from '../../src/engine/ready-queue.ts';

const online = { connected: true, metered: false };
const metered = { connected: true, metered: true };
const offline = { connected: false, metered: false };

test('R50, R52–R54: which cost policy may transfer on which network', () => {
  for (const policy of [C.default, C.unrestrictedOnly, C.always]) {
    assert.equal(networkGate(policy, online), 'allowed');
    assert.equal(networkGate(policy, offline), 'noNetwork', 'no policy transfers without a network');
  }
  assert.equal(networkGate(C.default, metered), 'allowed');
  assert.equal(networkGate(C.always, metered), 'allowed');
  assert.equal(networkGate(C.unrestrictedOnly, metered), 'costed');
});

test('gateEvent moves live operations to the waiting status the gate names, and back', () => {
  assert.equal(gateEvent('noNetwork', S.running), 'loseNetwork');
  assert.equal(gateEvent('noNetwork', S.pausedCostedNetwork), 'loseNetwork');
  assert.equal(gateEvent('costed', S.idle), 'meteredBlocked');
  assert.equal(gateEvent('costed', S.pausedNoNetwork), 'meteredBlocked');
  assert.equal(gateEvent('allowed', S.pausedNoNetwork), 'networkAllowed');
  assert.equal(gateEvent('allowed', S.pausedCostedNetwork), 'networkAllowed');
  assert.equal(gateEvent('allowed', S.running), null);
  assert.equal(gateEvent('noNetwork', S.pausedByApplication), null, "the app's pause stays the app's");
  assert.equal(gateEvent('noNetwork', S.completed), null);
});

test('R32: make-current rotates the group, keeping its set of queue positions', () => {
  const members = [
    { guid: 'a', seq: 3 },
    { guid: 'b', seq: 7 },
    { guid: 'c', seq: 9 },
    { guid: 'd', seq: 12 },
  ];
  assert.deepEqual(rotateGroup(members, 'c'), [
    ['c', 3],
    ['d', 7],
    ['a', 9],
    ['b', 12],
  ]);
  assert.deepEqual(rotateGroup(members, 'a'), [
    ['a', 3],
    ['b', 7],
    ['c', 9],
    ['d', 12],
  ]);
  assert.deepEqual(rotateGroup(members, 'zz'), []);
});
