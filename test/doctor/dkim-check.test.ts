// The doctor's DKIM rows: each key on disk against its published record
// (missing, mismatched, malformed, revoked, split strings), and key-file problems.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKeyPem, loadDkimKeys, writeNewKeyFile, type DkimKey } from '../../src/dkim/keys.js';
import { dkimRecord } from '../../src/dkim/record.js';
import { checkDkim, keyFileRows } from '../../src/doctor/dkim-check.js';
import { closeServersAfter, zoneFixture, type ZoneFixture } from './fixtures.js';

closeServersAfter();

describe('DKIM rows', () => {
  let folder: string;
  let keys: readonly DkimKey[];
  let fixture: ZoneFixture;
  const key = (selector: string): DkimKey => {
    const found = keys.find((candidate) => candidate.selector === selector);
    assert.ok(found);
    return found;
  };

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'outpost-doctor-dkim-'));
    for (const selector of ['good', 'missing', 'stale', 'junk', 'revoked', 'twice']) await writeNewKeyFile(folder, 'example.org', selector, generateKeyPem('ed25519'));
    await writeNewKeyFile(folder, 'example.org', 'rsa', generateKeyPem('rsa', 2048));
    keys = (await loadDkimKeys(folder)).keys;
    const other = generateKeyPem('ed25519');
    await writeNewKeyFile(folder, 'other.example', 'x', other);
    const otherKey = (await loadDkimKeys(folder)).keys.find((candidate) => candidate.domain === 'other.example');
    assert.ok(otherKey);
    fixture = await zoneFixture({
      'good._domainkey.example.org': { TXT: [dkimRecord(key('good')).value] },
      'rsa._domainkey.example.org': { TXT: [dkimRecord(key('rsa')).strings] },
      'stale._domainkey.example.org': { TXT: [`v=DKIM1; k=ed25519; p=${otherKey.publicKeyBase64}`] },
      'junk._domainkey.example.org': { TXT: ['v=DKIM1; k=ed25519; p=***'] },
      'revoked._domainkey.example.org': { TXT: ['v=DKIM1; k=ed25519; p='] },
      'twice._domainkey.example.org': { TXT: [dkimRecord(key('twice')).value, `v=DKIM1; k=ed25519; p=${otherKey.publicKeyBase64}`] },
    });
  });
  after(() => rm(folder, { recursive: true, force: true }));

  const rowFor = async (selector: string) => {
    const [row] = await checkDkim({ resolver: fixture.resolver(), domain: 'example.org', keys: [key(selector)] });
    assert.ok(row);
    assert.equal(row.subject, `${selector}._domainkey.example.org`);
    return row;
  };

  it('is ok when the published p= is the key, also split over several strings with spaces', async () => {
    assert.equal((await rowFor('good')).status, 'ok');
    const rsa = await rowFor('rsa');
    assert.deepEqual([rsa.status, rsa.detail], ['ok', 'RSA 2048-bit key published (rsa)']);
  });

  it('fails a key whose record is not published, with the record to publish', async () => {
    const row = await rowFor('missing');
    assert.equal(row.status, 'fail');
    assert.match(row.detail, /^not published/);
    assert.equal(row.fix, dkimRecord(key('missing')).zoneLine);
  });

  it('fails a published p= that is not the key on disk', async () => {
    const row = await rowFor('stale');
    assert.equal(row.status, 'fail');
    assert.match(row.detail, /published p= is not the public key of .*stale\.pem/);
    assert.equal(row.fix, dkimRecord(key('stale')).zoneLine);
  });

  it('fails a malformed or revoked record', async () => {
    const junk = await rowFor('junk');
    assert.deepEqual([junk.status, /malformed \(p= is not base64\)/.test(junk.detail)], ['fail', true]);
    const revoked = await rowFor('revoked');
    assert.deepEqual([revoked.status, /revoked/.test(revoked.detail)], ['fail', true]);
  });

  it('warns when several TXT records share the name', async () => {
    assert.equal((await rowFor('twice')).status, 'warn');
  });

  it('warns a domain without keys that it is not signing', async () => {
    const [row] = await checkDkim({ resolver: fixture.resolver(), domain: 'example.net', keys: [] });
    assert.deepEqual([row?.status, row?.subject], ['warn', null]);
    assert.match(row?.detail ?? '', /not signing.*run outpost dkim keygen example.net/);
  });

  it('reports key-file problems as failures under their domain folder, a folder of a non-local domain as a warning', async () => {
    await writeFile(join(folder, 'example.org', 'bad.pem'), 'not a key');
    const loaded = await loadDkimKeys(folder, (domain) => domain === 'example.org');
    const rows = keyFileRows(folder, 'mail.example.org', loaded.problems, loaded.warnings);
    const bad = rows.find((row) => row.subject === join(folder, 'example.org', 'bad.pem'));
    assert.deepEqual([bad?.domain, bad?.status, bad?.check], ['example.org', 'fail', 'dkim']);
    const foreign = rows.find((row) => row.subject === join(folder, 'other.example'));
    assert.deepEqual([foreign?.domain, foreign?.status], ['mail.example.org', 'warn']);
  });
});
