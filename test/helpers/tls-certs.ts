import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from './temp-dir.ts';

const run = promisify(execFile);

/** A PEM private key and certificate, as `https.createServer({ key, cert })` wants them. */
export interface KeyPair {
  key: string;
  cert: string;
}

export interface TestCertificates {
  /** The test CA's certificate (PEM): give it to `createDispatcher({ extraCaCertificates })`. */
  caCert: string;
  /** For 127.0.0.1 and localhost, signed by the CA, valid now. */
  valid: KeyPair;
  /** For `wrong.example` only, signed by the CA: fails the host name check. */
  wrongName: KeyPair;
  /** For 127.0.0.1 and localhost, signed by the CA, valid only from 2020-01-01 to 2020-01-02. */
  expired: KeyPair;
  /** For 127.0.0.1 and localhost, self-signed (not from the CA): never trusted. */
  selfSigned: KeyPair;
}

/** `openssl req` needs a config; this empty one keeps the system openssl.cnf (and its v3_ca) out. */
const REQ_CONFIG = '[ req ]\ndistinguished_name = dn\n[ dn ]\n';

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const LOOPBACK_NAMES = 'subjectAltName=IP:127.0.0.1,DNS:localhost';
const LEAF_EXTENSIONS = ['-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth'];

/**
 * Makes a throw-away PKI with the `openssl` CLI (3.0) in a temp dir, in well under a second
 * (P-256 keys are instant to generate). Every call makes new keys; the files are deleted afterwards.
 *
 * OpenSSL 3.0's `x509`/`req` cannot set a validity in the past (`-not_before` arrived in 3.4), so
 * the expired leaf is issued with `openssl ca -startdate/-enddate` and a minimal CA config.
 */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await makeTempDir('bgtransfer-tls-');
  try {
    const file = (name: string): string => join(dir.path, name);
    await writeFile(file('req.cnf'), REQ_CONFIG);
    const req = (args: string[]) => run('openssl', ['req', '-config', file('req.cnf'), ...EC_KEY, ...args]);

    await req([
      '-x509',
      ...['-keyout', file('ca.key'), '-out', file('ca.pem'), '-subj', '/CN=bgtransfer test CA', '-days', '2'],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ]);
    const signedByCa = ['-CA', file('ca.pem'), '-CAkey', file('ca.key')];
    await Promise.all([
      req([
        ...['-x509', '-keyout', file('valid.key'), '-out', file('valid.pem'), '-subj', '/CN=127.0.0.1', '-days', '2'],
        ...signedByCa,
        ...['-addext', LOOPBACK_NAMES, ...LEAF_EXTENSIONS],
      ]),
      req([
        ...['-x509', '-keyout', file('wrong.key'), '-out', file('wrong.pem'), '-subj', '/CN=wrong.example'],
        ...['-days', '2', ...signedByCa],
        ...['-addext', 'subjectAltName=DNS:wrong.example', ...LEAF_EXTENSIONS],
      ]),
      req([
        ...['-x509', '-keyout', file('self.key'), '-out', file('self.pem'), '-subj', '/CN=127.0.0.1', '-days', '2'],
        ...['-addext', LOOPBACK_NAMES, ...LEAF_EXTENSIONS],
      ]),
      makeExpiredLeaf(file),
    ]);

    const pair = async (name: string): Promise<KeyPair> => ({
      key: await readFile(file(`${name}.key`), 'utf8'),
      cert: await readFile(file(`${name}.pem`), 'utf8'),
    });
    return {
      caCert: await readFile(file('ca.pem'), 'utf8'),
      valid: await pair('valid'),
      wrongName: await pair('wrong'),
      expired: await pair('expired'),
      selfSigned: await pair('self'),
    };
  } finally {
    await dir.cleanup();
  }
}

async function makeExpiredLeaf(file: (name: string) => string): Promise<void> {
  // `openssl ca` keeps a database and a serial file; copy_extensions carries the CSR's SAN over.
  const caConfig = [
    '[ ca ]',
    'default_ca = test_ca',
    '[ test_ca ]',
    `database = ${file('index.txt')}`,
    `new_certs_dir = ${file('.')}`,
    `serial = ${file('serial')}`,
    'default_md = sha256',
    'policy = any_name',
    'copy_extensions = copy',
    'unique_subject = no',
    '[ any_name ]',
    'commonName = supplied',
    '',
  ].join('\n');
  await Promise.all([
    writeFile(file('ca.cnf'), caConfig),
    writeFile(file('index.txt'), ''),
    writeFile(file('serial'), '01\n'),
  ]);
  await run('openssl', [
    ...['req', '-new', '-config', file('req.cnf'), ...EC_KEY],
    ...['-keyout', file('expired.key'), '-out', file('expired.csr'), '-subj', '/CN=127.0.0.1'],
    ...['-addext', LOOPBACK_NAMES],
  ]);
  await run('openssl', [
    ...['ca', '-batch', '-notext', '-config', file('ca.cnf'), '-cert', file('ca.pem'), '-keyfile', file('ca.key')],
    ...['-in', file('expired.csr'), '-out', file('expired.pem')],
    ...['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'],
  ]);
}
