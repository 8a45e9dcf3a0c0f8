import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  chosenProtocol,
  PROTOCOLS,
  probingProtocol,
  protocolOfSession,
  protocolsFor,
  rememberedProtocol,
} from '../../src/protocols/registry.ts';

/** The registry's choices (src/protocols/registry.ts): which protocol an attempt gets, by rule. */

const HTTP = new URL('https://example.test/files/');
const FTP = new URL('ftp://example.test/dir/a.bin');
const name = (protocol: { name: string } | undefined) => protocol?.name;

test('every protocol has a distinct name, at least one scheme, and an app choice unique within its scheme', () => {
  const names = PROTOCOLS.map((protocol) => protocol.name);
  assert.equal(new Set(names).size, names.length);
  for (const protocol of PROTOCOLS) assert.ok(protocol.schemes.length > 0, protocol.name);
  for (const scheme of ['http:', 'https:', 'ftp:', 'ftps:']) {
    const choices = PROTOCOLS.filter((p) => p.schemes.includes(scheme) && p.choice).map((p) => p.choice);
    assert.equal(new Set(choices).size, choices.length, scheme);
  }
});

test('resumeProtocol names the protocol for http(s); "auto" names none; an FTP URL has only FTP', () => {
  assert.equal(name(chosenProtocol(HTTP, 'tus')), 'tus');
  assert.equal(name(chosenProtocol(HTTP, 'ietf')), 'ietf');
  assert.equal(name(chosenProtocol(HTTP, 'none')), 'http');
  assert.equal(chosenProtocol(HTTP, 'auto'), undefined);
  for (const choice of ['auto', 'tus', 'ietf', 'none'] as const) assert.equal(name(chosenProtocol(FTP, choice)), 'ftp');
});

test('under "auto" the endpoint memory decides: tus for tus, the draft for a draft or plain endpoint', () => {
  assert.equal(rememberedProtocol(HTTP, 'tus').name, 'tus');
  assert.equal(rememberedProtocol(HTTP, 'ietf').name, 'ietf');
  assert.equal(rememberedProtocol(HTTP, 'plain').name, 'ietf');
  assert.equal(name(probingProtocol(HTTP)), 'tus');
  assert.equal(probingProtocol(FTP), undefined);
});

test('a stored session continues with its own protocol, only for a URL that protocol serves', () => {
  assert.equal(name(protocolOfSession(HTTP, 'ietf')), 'ietf');
  assert.equal(name(protocolOfSession(FTP, 'ftp')), 'ftp');
  assert.equal(protocolOfSession(HTTP, 'ftp'), undefined);
  assert.equal(protocolOfSession(HTTP, 'gone'), undefined);
});

test('a scheme no protocol serves is BT_ERR_UNSUPPORTED_SCHEME', () => {
  assert.throws(() => protocolsFor(new URL('gopher://example.test/x')), {
    code: 'BT_ERR_UNSUPPORTED_SCHEME',
    message: /no upload protocol serves "gopher" URIs/,
  });
});
