// Which keys sign: newest key with its record published, else the oldest key;
// subdomains sign with the parent's keys; records are checked through the real
// resolver against the in-process DNS server.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { DkimAlgorithm, DkimKey } from '../../src/dkim/keys.js';
import { dkimRecord } from '../../src/dkim/record.js';
import { SigningKeyring } from '../../src/dkim/signing-keyring.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';

function makeKey(domain: string, selector: string, algorithm: DkimAlgorithm, createdMs: number): DkimKey {
  if (algorithm === 'rsa-sha256') {
    const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const publicKeyBase64 = pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    return { domain, selector, algorithm, privateKey: pair.privateKey, bits: 1024, file: `/keys/${domain}/${selector}.pem`, createdMs, publicKeyBase64 };
  }
  const pair = generateKeyPairSync('ed25519');
  const publicKeyBase64 = pair.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
  return { domain, selector, algorithm, privateKey: pair.privateKey, bits: undefined, file: `/keys/${domain}/${selector}.pem`, createdMs, publicKeyBase64 };
}

const publish = (key: DkimKey): [string, { TXT: string[][] }] => {
  const record = dkimRecord(key);
  return [record.name, { TXT: [record.strings] }];
};

describe('SigningKeyring', () => {
  let dns: TestDnsServer;
  const oldRsa = makeKey('example.org', 'rsa-old', 'rsa-sha256', 1_000);
  const newRsa = makeKey('example.org', 'rsa-new', 'rsa-sha256', 2_000);
  const ed = makeKey('example.org', 'ed-1', 'ed25519-sha256', 1_500);
  const other = makeKey('example.net', 'only', 'rsa-sha256', 3_000);

  before(async () => {
    dns = await startDnsServer({ zones: {} });
  });
  after(async () => {
    await dns.close();
  });

  it('before any DNS check signs with the oldest key per algorithm, RSA first', () => {
    const keyring = new SigningKeyring([newRsa, ed, oldRsa, other]);
    assert.deepEqual(keyring.keysFor('example.org').map((key) => key.selector), ['rsa-old', 'ed-1']);
    assert.deepEqual(keyring.keysFor('example.net').map((key) => key.selector), ['only']);
    assert.deepEqual(keyring.keysFor('example.com'), []);
  });

  it('moves to the newer key only once its record is published with the same key', async () => {
    const keyring = new SigningKeyring([oldRsa, newRsa, ed]);
    dns.zones = Object.fromEntries([publish(oldRsa), publish(ed)]);
    await keyring.checkPublished(resolverFor([dns]).resolver);
    assert.deepEqual(keyring.keysFor('example.org').map((key) => key.selector), ['rsa-old', 'ed-1']);
    assert.ok(keyring.awaitingRecords);
    const wrong = dkimRecord({ ...newRsa, publicKeyBase64: oldRsa.publicKeyBase64 });
    dns.zones = Object.fromEntries([publish(oldRsa), publish(ed), [wrong.name, { TXT: [wrong.strings] }]]);
    await keyring.checkPublished(resolverFor([dns]).resolver);
    assert.equal(keyring.status().find((status) => status.key === newRsa)?.record, 'mismatch');
    assert.deepEqual(keyring.keysFor('example.org').map((key) => key.selector), ['rsa-old', 'ed-1']);
    dns.zones = Object.fromEntries([publish(oldRsa), publish(ed), publish(newRsa)]);
    await keyring.checkPublished(resolverFor([dns]).resolver);
    assert.deepEqual(keyring.keysFor('example.org').map((key) => key.selector), ['rsa-new', 'ed-1']);
    assert.equal(keyring.awaitingRecords, false);
  });

  it('keeps what it knew when DNS fails, and across a reload of the same keys', async () => {
    const keyring = new SigningKeyring([oldRsa, newRsa]);
    dns.zones = Object.fromEntries([publish(oldRsa), publish(newRsa)]);
    await keyring.checkPublished(resolverFor([dns]).resolver);
    assert.equal(keyring.keysFor('example.org')[0]?.selector, 'rsa-new');
    dns.faults = { 'rsa-new._domainkey.example.org': { kind: 'servfail' } };
    await keyring.checkPublished(resolverFor([dns]).resolver);
    assert.equal(keyring.keysFor('example.org')[0]?.selector, 'rsa-new');
    dns.faults = {};
    keyring.replaceKeys([oldRsa, newRsa, ed]);
    assert.deepEqual(keyring.keysFor('example.org').map((key) => key.selector), ['rsa-new', 'ed-1']);
    keyring.replaceKeys([newRsa]);
    assert.deepEqual(keyring.keysFor('example.org').map((key) => key.selector), ['rsa-new']);
  });

  it('a subdomain signs with the nearest parent that has keys', () => {
    const keyring = new SigningKeyring([oldRsa, makeKey('eu.example.org', 'eu', 'ed25519-sha256', 1)]);
    assert.equal(keyring.signingDomain('example.org'), 'example.org');
    assert.equal(keyring.signingDomain('mail.example.org'), 'example.org');
    assert.equal(keyring.signingDomain('x.eu.example.org'), 'eu.example.org');
    assert.equal(keyring.signingDomain('example.com'), undefined);
    assert.equal(keyring.signingDomain('org'), undefined);
  });
});
