// The local domains file: one domain per line, '#' comments (whole-line or
// trailing), blank lines allowed, case-insensitive; stored canonical (RFC 5890 A-labels).

import { canonicalDomain } from '../core/domain.js';
import { ConfigError, ConfigErrors } from '../core/errors.js';
import { readTextFile } from './files.js';
import { FrozenSet } from './frozen.js';

export const DOMAINS_KEY = 'domains';

export interface DomainsText {
  readonly domains: ReadonlySet<string>;
  /** Invalid lines (naming `file` and the line) and an empty list. */
  readonly problems: readonly ConfigError[];
}

export function parseDomainsText(text: string, file: string): DomainsText {
  const domains = new Set<string>();
  const problems: ConfigError[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const content = (rawLine.split('#')[0] ?? '').trim();
    if (content === '') return;
    const line = index + 1;
    if (/\s/.test(content)) {
      problems.push(new ConfigError(file, `${JSON.stringify(content)} has more than one word (write one domain per line)`, { line }));
      return;
    }
    const canonical = canonicalDomain(content);
    if (canonical === undefined) problems.push(new ConfigError(file, `${JSON.stringify(content)} is not a valid domain`, { line }));
    else domains.add(canonical);
  });
  if (domains.size === 0 && problems.length === 0) {
    problems.push(new ConfigError(file, 'lists no local domains (every recipient would be rejected)', { key: DOMAINS_KEY }));
  }
  return { domains: new FrozenSet(domains), problems };
}

export type DomainsFileOutcome =
  | { readonly readable: true; readonly domains: ReadonlySet<string>; readonly problems: readonly ConfigError[] }
  | { readonly readable: false; readonly reason: string };

/** Reads and judges a domains file; an unreadable file is a separate outcome so callers can say which key named it. */
export async function readDomainsFile(path: string): Promise<DomainsFileOutcome> {
  const text = await readTextFile(path);
  if (!text.ok) return { readable: false, reason: text.problem };
  return { readable: true, ...parseDomainsText(text.value, path) };
}

/** The local domains of `path` (as on SIGHUP reload); throws ConfigErrors naming the file and lines. */
export async function loadDomainsFile(path: string): Promise<ReadonlySet<string>> {
  const outcome = await readDomainsFile(path);
  if (!outcome.readable) throw new ConfigErrors([new ConfigError(path, `cannot read the domains file: ${outcome.reason}`, { key: DOMAINS_KEY })]);
  if (outcome.problems.length > 0) throw new ConfigErrors(outcome.problems);
  return outcome.domains;
}
