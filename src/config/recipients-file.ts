// The recipient allow-list of `verifyRecipients.file`: one address per line
// (`user@example.org`, local part exact as RFC 5321 §2.4 keeps it, domain
// case-insensitive) or `@example.org` for every address of a domain; '#' comments.

import { canonicalDomain } from '../core/domain.js';
import { ConfigError, ConfigErrors } from '../core/errors.js';
import { parseRcptToArgument } from '../smtp/address.js';
import { readTextFile } from './files.js';

export const RECIPIENTS_FILE_KEY = 'verifyRecipients.file';

/**
 * The addresses a list accepts. A domain that appears in it (in any entry) is
 * covered: only its listed addresses are accepted, and it is never probed.
 */
export class RecipientList {
  readonly #addresses: ReadonlySet<string>;
  readonly #wholeDomains: ReadonlySet<string>;
  readonly #covered: ReadonlySet<string>;

  constructor(addresses: ReadonlySet<string>, wholeDomains: ReadonlySet<string>) {
    this.#addresses = addresses;
    this.#wholeDomains = wholeDomains;
    this.#covered = new Set([...wholeDomains, ...[...addresses].map((address) => address.slice(address.lastIndexOf('@') + 1))]);
  }

  /** Entries in the file (addresses and whole domains). */
  get size(): number {
    return this.#addresses.size + this.#wholeDomains.size;
  }

  /** The file names this domain (canonical form): its recipients are judged by the list alone. */
  covers(domain: string): boolean {
    return this.#covered.has(domain);
  }

  /** `localPart` as the RCPT parser normalizes it (case kept), `domain` canonical. */
  accepts(localPart: string, domain: string): boolean {
    return this.#wholeDomains.has(domain) || this.#addresses.has(`${localPart}@${domain}`);
  }
}

export interface RecipientsText {
  readonly list: RecipientList;
  /** Invalid lines, each naming the file and line. */
  readonly problems: readonly ConfigError[];
}

/** '#' starts a comment at the start of a line or after white space ('#' is a valid local-part character). */
function withoutComment(line: string): string {
  return line.replace(/(^|\s)#.*$/, '').trim();
}

export function parseRecipientsText(text: string, file: string): RecipientsText {
  const addresses = new Set<string>();
  const wholeDomains = new Set<string>();
  const problems: ConfigError[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const content = withoutComment(rawLine);
    if (content === '') return;
    const problem = (what: string): void => void problems.push(new ConfigError(file, `${JSON.stringify(content)} ${what}`, { line: index + 1 }));
    const oneWordOrQuoted = !/\s/.test(content) || /^"[^"]*"@\S+$/.test(content);
    if (!oneWordOrQuoted) return problem('has more than one word (write one address per line)');
    if (content.startsWith('@')) {
      const domain = canonicalDomain(content.slice(1));
      if (domain === undefined) return problem('is not a valid domain (write @example.org for a whole domain)');
      wholeDomains.add(domain);
      return;
    }
    const parsed = parseRcptToArgument(`TO:<${content}>`);
    if (!parsed.ok || parsed.path.canonicalDomain === undefined) return problem('is not an address (write user@example.org or @example.org)');
    addresses.add(`${parsed.path.localPart}@${parsed.path.canonicalDomain}`);
  });
  return { list: new RecipientList(addresses, wholeDomains), problems };
}

export type RecipientsFileOutcome =
  | { readonly readable: true; readonly list: RecipientList; readonly problems: readonly ConfigError[] }
  | { readonly readable: false; readonly reason: string };

/** Reads and judges a recipients file; an unreadable file is a separate outcome so callers can name the key. */
export async function readRecipientsFile(path: string): Promise<RecipientsFileOutcome> {
  const text = await readTextFile(path);
  if (!text.ok) return { readable: false, reason: text.problem };
  return { readable: true, ...parseRecipientsText(text.value, path) };
}

/** The list of `path` (at start and on SIGHUP); throws ConfigErrors naming the file and lines. */
export async function loadRecipientsFile(path: string): Promise<RecipientList> {
  const outcome = await readRecipientsFile(path);
  if (!outcome.readable) throw new ConfigErrors([new ConfigError(path, `cannot read the recipients file: ${outcome.reason}`, { key: RECIPIENTS_FILE_KEY })]);
  if (outcome.problems.length > 0) throw new ConfigErrors(outcome.problems);
  return outcome.list;
}
