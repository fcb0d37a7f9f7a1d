// Event ids: "evt_" + 10 Crockford base32 characters of milliseconds + 16 random
// ones (ULID layout), so ids sort by creation time and never repeat in practice.

import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function eventId(nowMs: number, random: (bytes: number) => Buffer = randomBytes): string {
  let time = '';
  let rest = Math.max(0, Math.floor(nowMs));
  for (let index = 0; index < 10; index += 1) {
    time = (ALPHABET[rest % 32] ?? '0') + time;
    rest = Math.floor(rest / 32);
  }
  const bytes = random(16);
  let tail = '';
  for (const byte of bytes) tail += ALPHABET[byte % 32] ?? '0';
  return `evt_${time}${tail}`;
}
