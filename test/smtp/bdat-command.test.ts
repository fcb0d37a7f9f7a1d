// Table tests for the BDAT argument parser (RFC 3030 §2: chunk-size = 1*DIGIT,
// optional LAST): which sizes can be read, and so consumed, and which cannot.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBdatArgument, type BdatArgument } from '../../src/smtp/bdat-command.js';

describe('parseBdatArgument', () => {
  const cases: [string, BdatArgument][] = [
    ['100', { kind: 'chunk', sizeOctets: 100, last: false }],
    ['100 LAST', { kind: 'chunk', sizeOctets: 100, last: true }],
    ['0 LAST', { kind: 'chunk', sizeOctets: 0, last: true }],
    ['0', { kind: 'chunk', sizeOctets: 0, last: false }],
    ['7 last', { kind: 'chunk', sizeOctets: 7, last: true }],
    ['007', { kind: 'chunk', sizeOctets: 7, last: false }],
    ['  12   LAST  ', { kind: 'chunk', sizeOctets: 12, last: true }],
    ['12\tLAST', { kind: 'chunk', sizeOctets: 12, last: true }],
    ['9007199254740991', { kind: 'chunk', sizeOctets: Number.MAX_SAFE_INTEGER, last: false }],
    ['100 LAST junk', { kind: 'bad-argument', sizeOctets: 100 }],
    ['100 FIRST', { kind: 'bad-argument', sizeOctets: 100 }],
    ['100 LASTX', { kind: 'bad-argument', sizeOctets: 100 }],
    ['100 SIZE=5', { kind: 'bad-argument', sizeOctets: 100 }],
    ['', { kind: 'unreadable-size' }],
    ['   ', { kind: 'unreadable-size' }],
    ['LAST', { kind: 'unreadable-size' }],
    ['-5', { kind: 'unreadable-size' }],
    ['+5', { kind: 'unreadable-size' }],
    ['1e3', { kind: 'unreadable-size' }],
    ['0x10', { kind: 'unreadable-size' }],
    ['10.5', { kind: 'unreadable-size' }],
    ['１２', { kind: 'unreadable-size' }],
    ['9007199254740992', { kind: 'unreadable-size' }],
    ['9'.repeat(400), { kind: 'unreadable-size' }],
  ];
  for (const [argument, expected] of cases) {
    it(`reads ${JSON.stringify(argument.length > 40 ? `${argument.slice(0, 20)}…` : argument)} as ${expected.kind}`, () => {
      assert.deepEqual(parseBdatArgument(argument), expected);
    });
  }
});
