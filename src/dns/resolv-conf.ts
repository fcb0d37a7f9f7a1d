// The system's recursive servers from /etc/resolv.conf (resolv.conf(5)):
// `nameserver` lines (at most 3, as glibc) and `options timeout:N attempts:N`.

import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { DnsServer } from './types.js';

export const RESOLV_CONF_PATH = '/etc/resolv.conf';
const MAX_NAMESERVERS = 3;
const MAX_TIMEOUT_SECONDS = 30;
const MAX_ATTEMPTS = 5;

export interface ResolvConf {
  readonly servers: readonly DnsServer[];
  /** Present only when the file sets it. */
  readonly timeoutMs?: number;
  readonly attempts?: number;
}

function optionValue(option: string, name: string, max: number): number | undefined {
  const match = new RegExp(`^${name}:(\\d+)$`).exec(option);
  if (match?.[1] === undefined) return undefined;
  return Math.min(Number(match[1]), max);
}

export function parseResolvConf(text: string): ResolvConf {
  const servers: DnsServer[] = [];
  let timeoutMs: number | undefined;
  let attempts: number | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/[#;].*$/, '').trim();
    const [keyword, ...values] = line.split(/\s+/);
    if (keyword === 'nameserver' && values[0] !== undefined && servers.length < MAX_NAMESERVERS) {
      const address = values[0];
      if (isIP(address.split('%')[0] ?? '') !== 0) servers.push({ host: address, port: 53 });
    } else if (keyword === 'options') {
      for (const option of values) {
        const timeoutSeconds = optionValue(option, 'timeout', MAX_TIMEOUT_SECONDS);
        if (timeoutSeconds !== undefined) timeoutMs = Math.max(1, timeoutSeconds) * 1000;
        const attemptCount = optionValue(option, 'attempts', MAX_ATTEMPTS);
        if (attemptCount !== undefined) attempts = Math.max(1, attemptCount);
      }
    }
  }
  return { servers, ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(attempts === undefined ? {} : { attempts }) };
}

/** A missing or unreadable file means no settings (the caller falls back to defaults). */
export async function readResolvConf(path: string = RESOLV_CONF_PATH): Promise<ResolvConf> {
  try {
    return parseResolvConf(await readFile(path, 'utf8'));
  } catch {
    return { servers: [] };
  }
}
