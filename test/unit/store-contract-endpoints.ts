import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointCapability } from '../../src/store/endpoint-capability.ts';
import type { OperationStore } from '../../src/store/operation-store.ts';
import { assertThrowsCode } from '../helpers/store-fixtures.ts';

const HOUR = 60 * 60 * 1000;

/** Schema v6: what an endpoint speaks, remembered with an expiry, for every store. */
export function runEndpointContract(store: () => OperationStore): void {
  describe('endpoint capabilities', () => {
    const now = Date.now();
    const tus: EndpointCapability = {
      protocol: 'tus',
      tusExtensions: ['creation', 'termination'],
      tusMaxSize: 1_000_000,
      learnedAtMs: now,
      expiresAtMs: now + HOUR,
    };

    it('round-trips what was learned, details included; unknown endpoints are undefined', () => {
      assert.equal(store().getEndpointCapability('http://a:80/files/'), undefined);
      store().rememberEndpointCapability('http://a:80/files/', tus);
      assert.deepEqual(store().getEndpointCapability('http://a:80/files/'), tus);
      assert.equal(store().getEndpointCapability('http://a:80/files'), undefined, 'the key is exact');
      const ietf: EndpointCapability = {
        protocol: 'ietf',
        ietfInteropVersion: 8,
        learnedAtMs: now,
        expiresAtMs: now + HOUR,
      };
      store().rememberEndpointCapability('https://b:443/up', ietf);
      assert.deepEqual(store().getEndpointCapability('https://b:443/up'), ietf);
    });

    it('a new answer replaces the old one; forget removes it', () => {
      store().rememberEndpointCapability('http://a:80', tus);
      const plain: EndpointCapability = { protocol: 'plain', learnedAtMs: now + 1, expiresAtMs: now + 2 * HOUR };
      store().rememberEndpointCapability('http://a:80', plain);
      assert.deepEqual(store().getEndpointCapability('http://a:80'), plain);
      store().forgetEndpointCapability('http://a:80');
      assert.equal(store().getEndpointCapability('http://a:80'), undefined);
      store().forgetEndpointCapability('http://never:80');
    });

    it('lists every unexpired entry that parses, by endpoint', () => {
      store().rememberEndpointCapability('http://l:80/files/', tus);
      store().rememberEndpointCapability('http://l:80', {
        protocol: 'plain',
        learnedAtMs: now,
        expiresAtMs: now + HOUR,
      });
      store().rememberEndpointCapability('http://gone:80', {
        ...tus,
        learnedAtMs: now - 2 * HOUR,
        expiresAtMs: now - HOUR,
      });
      const listed = store().listEndpointCapabilities();
      assert.deepEqual(listed.get('http://l:80/files/'), tus);
      assert.equal(listed.get('http://l:80')?.protocol, 'plain');
      assert.equal(listed.has('http://gone:80'), false);
    });

    it('an expired entry is not returned (the endpoint is probed again)', () => {
      store().rememberEndpointCapability('http://old:80/x', {
        ...tus,
        learnedAtMs: now - 2 * HOUR,
        expiresAtMs: now - HOUR,
      });
      assert.equal(store().getEndpointCapability('http://old:80/x'), undefined);
    });

    it('refuses an entry without an endpoint or with a non-integer time', () => {
      assertThrowsCode(() => store().rememberEndpointCapability('', tus), 'BT_ERR_INVALID_ARGUMENT');
      assertThrowsCode(
        () => store().rememberEndpointCapability('http://a:80', { ...tus, expiresAtMs: Number.NaN }),
        'BT_ERR_INVALID_ARGUMENT',
      );
    });
  });
}
