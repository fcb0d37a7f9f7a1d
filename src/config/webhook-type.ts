// The `events.webhooks` list (INTERFACE.md "Configuration"): where delivery
// events are POSTed, the signing secret (Standard Webhooks, read from
// `secretFile` at load, or inline `secret`) and which event types each receiver wants.

import { resolve } from 'node:path';
import { readValueFileSync } from './files.js';
import { listType, type FieldContext, type LeafType } from './leaf-types.js';
import type { WebhookConfig, WebhookEventType } from './types.js';
import { closestName, describeValue, failure, isPlainObject, listChoices, success } from './values.js';

export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = ['queued', 'delivered', 'deferred', 'failed', 'bounced', 'delayed', 'expired', 'suppressed', 'quota'];
const FIELDS = ['url', 'secret', 'secretFile', 'events'];

function parseUrl(raw: unknown, field: FieldContext): string | undefined {
  const path = `${field.path}.url`;
  if (typeof raw !== 'string') {
    field.report(path, raw === undefined ? 'missing (where the events are POSTed)' : `${describeValue(raw)} is not a URL`);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    field.report(path, `${JSON.stringify(raw)} is not a URL`);
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    field.report(path, `${JSON.stringify(raw)} is not an http or https URL`);
    return undefined;
  }
  if (url.username !== '' || url.password !== '') {
    field.report(path, 'credentials in the URL are not allowed (the signature authenticates the sender)');
    return undefined;
  }
  return url.href;
}

function parseSecret(raw: Record<string, unknown>, field: FieldContext): string | undefined {
  const inline = raw['secret'];
  const file = raw['secretFile'];
  if ((inline === undefined) === (file === undefined)) {
    field.report(field.path, inline === undefined ? 'give secretFile (or secret) to sign the events' : 'give only one of secret and secretFile');
    return undefined;
  }
  if (file !== undefined) {
    if (typeof file !== 'string' || file.trim() === '') {
      field.report(`${field.path}.secretFile`, `${describeValue(file)} is not a file path`);
      return undefined;
    }
    const read = readValueFileSync(resolve(field.baseDir, file.trim()));
    if (!read.ok) field.report(`${field.path}.secretFile`, read.problem);
    return read.ok ? read.value : undefined;
  }
  if (typeof inline !== 'string' || inline.trim() === '') {
    field.report(`${field.path}.secret`, 'is not a non-empty text');
    return undefined;
  }
  return inline.trim();
}

function parseEvents(raw: unknown, field: FieldContext): readonly WebhookEventType[] | undefined {
  const path = `${field.path}.events`;
  if (raw === undefined) return WEBHOOK_EVENT_TYPES;
  if (!Array.isArray(raw) || raw.length === 0) {
    field.report(path, `${describeValue(raw)} is not a non-empty list of event types (${listChoices(WEBHOOK_EVENT_TYPES)})`);
    return undefined;
  }
  const types: WebhookEventType[] = [];
  for (const [index, item] of raw.entries()) {
    const type = WEBHOOK_EVENT_TYPES.find((known) => known === item);
    if (type === undefined) {
      const suggestion = typeof item === 'string' ? closestName(item, WEBHOOK_EVENT_TYPES) : undefined;
      field.report(`${path}[${index}]`, `${describeValue(item)} is not an event type (${suggestion === undefined ? listChoices(WEBHOOK_EVENT_TYPES) : `did you mean ${suggestion}?`})`);
      return undefined;
    }
    if (!types.includes(type)) types.push(type);
  }
  return types;
}

export const webhookType: LeafType<WebhookConfig> = {
  parse(raw, field) {
    if (!isPlainObject(raw)) {
      field.report(field.path, `${describeValue(raw)} is not a mapping (write { url, secretFile, events: [delivered, failed] })`);
      return undefined;
    }
    let valid = true;
    for (const key of Object.keys(raw)) {
      if (FIELDS.includes(key)) continue;
      const suggestion = closestName(key, FIELDS);
      field.report(`${field.path}.${key}`, `unknown key (${suggestion === undefined ? `a webhook has ${listChoices(FIELDS)}` : `did you mean ${suggestion}?`})`);
      valid = false;
    }
    const url = parseUrl(raw['url'], field);
    const secret = parseSecret(raw, field);
    const events = parseEvents(raw['events'], field);
    if (!valid || url === undefined || secret === undefined || events === undefined) return undefined;
    return { url, secret, events };
  },
  fromEnv: () => failure('a webhook is written as JSON in OUTPOST_EVENTS_WEBHOOKS'),
};

/** The list; from the environment (OUTPOST_EVENTS_WEBHOOKS or its _FILE form) as a JSON array of webhooks. */
export const webhooksType: LeafType<readonly WebhookConfig[]> = {
  parse: listType(webhookType, { nonEmpty: false }).parse,
  fromEnv(text) {
    try {
      const value: unknown = JSON.parse(text);
      return Array.isArray(value) ? success(value) : failure('is not a JSON array of webhooks ([{"url": ..., "secretFile": ...}])');
    } catch {
      return failure('is not JSON (write [{"url": "https://...", "secretFile": "/run/secrets/hook"}])');
    }
  },
};
