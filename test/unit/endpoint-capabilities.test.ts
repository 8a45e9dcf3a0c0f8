import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  endpointCapability,
  endpointKeys,
  forgetEndpoint,
  recallEndpoint,
} from '../../src/engine/endpoint-capabilities.ts';
import type { EndpointProbe } from '../../src/protocols/upload-protocol.ts';
import { MemoryOperationStore } from '../../src/store/memory-store.ts';

const TUS: EndpointProbe = {
  decisive: true,
  learned: { protocol: 'tus', tusExtensions: ['creation'], tusMaxSize: 1000 },
};
const PLAIN: EndpointProbe = { decisive: true, learned: { protocol: 'plain' } };
const UNAUTHORIZED: EndpointProbe = { decisive: false, learned: { protocol: 'plain' } };

/** A probe that counts its calls and answers after a turn of the event loop. */
function countingProbe(answer: EndpointProbe): { calls: number; probe: () => Promise<EndpointProbe> } {
  const counter = {
    calls: 0,
    probe: async () => {
      counter.calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return answer;
    },
  };
  return counter;
}

const signal = new AbortController().signal;

describe('endpoint keys', () => {
  it('scheme://host:port + path, default ports written out, no userinfo, query or fragment', () => {
    assert.deepEqual(endpointKeys(new URL('https://user:secret@example.test/files/?sig=abc#x')), {
      exact: 'https://example.test:443/files/',
      origin: 'https://example.test:443',
    });
    assert.equal(endpointKeys(new URL('http://example.test:8080/a')).exact, 'http://example.test:8080/a');
  });
});

describe('endpointCapability', () => {
  it('concurrent callers share one probe; the answer is remembered with its details', async () => {
    const store = new MemoryOperationStore();
    const url = new URL('http://h:1/files/');
    const counter = countingProbe(TUS);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => endpointCapability(store, url, counter.probe, signal)),
    );
    assert.equal(counter.calls, 1);
    assert.ok(results.every((result) => result.protocol === 'tus'));
    assert.deepEqual(store.getEndpointCapability('http://h:1/files/')?.tusExtensions, ['creation']);
    assert.equal(store.getEndpointCapability('http://h:1/files/')?.tusMaxSize, 1000);
    await endpointCapability(store, url, counter.probe, signal);
    assert.equal(counter.calls, 1, 'remembered');
  });

  it('a plain answer covers the whole origin; a tus answer only its path', async () => {
    const store = new MemoryOperationStore();
    const plain = countingProbe(PLAIN);
    await Promise.all(
      [0, 1, 2].map((i) => endpointCapability(store, new URL(`http://p:1/u/${i}`), plain.probe, signal)),
    );
    assert.equal(plain.calls, 1);
    assert.equal(recallEndpoint(store, new URL('http://p:1/other'))?.protocol, 'plain');

    const tus = countingProbe(TUS);
    await endpointCapability(store, new URL('http://t:1/files/'), tus.probe, signal);
    assert.equal(recallEndpoint(store, new URL('http://t:1/elsewhere')), undefined);
  });

  it('an indecisive answer (401, 5xx) decides the call but is not remembered', async () => {
    const store = new MemoryOperationStore();
    const url = new URL('http://a:1/x');
    const counter = countingProbe(UNAUTHORIZED);
    assert.equal((await endpointCapability(store, url, counter.probe, signal)).protocol, 'plain');
    assert.equal(recallEndpoint(store, url), undefined);
  });

  it('forgetting drops the path and its plain origin; a failing probe rejects and remembers nothing', async () => {
    const store = new MemoryOperationStore();
    const url = new URL('http://f:1/u/1');
    await endpointCapability(store, url, countingProbe(PLAIN).probe, signal);
    forgetEndpoint(store, url);
    assert.equal(recallEndpoint(store, url), undefined);
    assert.equal(store.getEndpointCapability('http://f:1'), undefined);
    await assert.rejects(
      endpointCapability(store, url, () => Promise.reject(new Error('ECONNREFUSED')), signal),
      /ECONNREFUSED/,
    );
    assert.equal(recallEndpoint(store, url), undefined);
  });

  it('reads the store once: a new path of a known origin, an expired entry, a restarted memory', async () => {
    const store = new MemoryOperationStore();
    const reads = { list: 0, get: 0 };
    const list = store.listEndpointCapabilities.bind(store);
    const get = store.getEndpointCapability.bind(store);
    store.listEndpointCapabilities = () => {
      reads.list += 1;
      return list();
    };
    store.getEndpointCapability = (key) => {
      reads.get += 1;
      return get(key);
    };
    const now = Date.now();
    // Learned by an earlier host: found without a probe.
    store.rememberEndpointCapability('http://k:1', { protocol: 'plain', learnedAtMs: now, expiresAtMs: now + 60_000 });
    store.rememberEndpointCapability('http://k:1/files/', {
      protocol: 'tus',
      learnedAtMs: now,
      expiresAtMs: now + 60_000,
    });
    store.rememberEndpointCapability('http://old:1', { protocol: 'plain', learnedAtMs: 0, expiresAtMs: now - 1 });
    for (let i = 0; i < 100; i++) assert.equal(recallEndpoint(store, new URL(`http://k:1/u/${i}`))?.protocol, 'plain');
    assert.equal(recallEndpoint(store, new URL('http://k:1/files/'))?.protocol, 'tus', 'a path entry beats its origin');
    assert.equal(recallEndpoint(store, new URL('http://old:1/x')), undefined, 'expired');
    const probe = countingProbe(PLAIN);
    await endpointCapability(store, new URL('http://old:1/x'), probe.probe, signal);
    assert.equal(probe.calls, 1, 'the expired origin is probed again');
    assert.equal(recallEndpoint(store, new URL('http://old:1/y'))?.protocol, 'plain');
    assert.deepEqual(reads, { list: 1, get: 0 });
  });
});
