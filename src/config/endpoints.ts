// Host/port text in the configuration: "host", "host:port" and "[IPv6]:port",
// used by dns.servers, delivery.routes values and OUTPOST_LISTEN entries.

import { isIP } from 'node:net';
import { isValidHostname } from '../core/domain.js';
import { failure, success, type Outcome } from './values.js';

export interface HostPortText {
  /** Without brackets. */
  readonly host: string;
  readonly port: number | undefined;
}

/** A port number 0-65535 written in decimal, or undefined. */
export function parsePortText(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/** Splits "host[:port]"; an IPv6 address with a port needs brackets, a bare one may go without. */
export function splitHostPort(text: string): Outcome<HostPortText> {
  const trimmed = text.trim();
  const bad = failure<HostPortText>(`${JSON.stringify(text)} is not host or host:port (IPv6 as [address]:port)`);
  let host: string;
  let portText: string | undefined;
  if (trimmed.startsWith('[')) {
    const match = /^\[([^\]]+)\](?::(.*))?$/.exec(trimmed);
    if (match === null || isIP(match[1] ?? '') !== 6) return bad;
    host = match[1] ?? '';
    portText = match[2];
  } else if (isIP(trimmed) === 6) {
    host = trimmed;
  } else {
    const parts = trimmed.split(':');
    if (parts.length > 2) return bad;
    host = parts[0] ?? '';
    portText = parts[1];
  }
  if (host === '') return bad;
  if (portText === undefined) return success({ host, port: undefined });
  const port = parsePortText(portText);
  return port === undefined ? failure(`${JSON.stringify(text)} has a bad port ${JSON.stringify(portText)} (use 0-65535)`) : success({ host, port });
}

/** True for an IP address literal or a valid hostname. */
export function isHostOrAddress(host: string): boolean {
  return isIP(host) !== 0 || isValidHostname(host);
}
