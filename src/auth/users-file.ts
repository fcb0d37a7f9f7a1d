// The AUTH users file: one `address:hash` per line (hash from password-hash.ts), whole-line
// '#' comments and blank lines; loaded into a UserDirectory that verifies SASL credentials.

import { readFile } from 'node:fs/promises';
import { ConfigError, ConfigErrors, errnoCode, errorMessage } from '../core/errors.js';
import { DUMMY_PASSWORD_HASH, parsePasswordHash, verifyPassword } from './password-hash.js';
import { canonicalUserAddress } from './user-address.js';

export const USERS_KEY = 'users';

/** One user line of the file. */
export interface UserEntry {
  /** Canonical address (see user-address.ts). */
  readonly address: string;
  readonly hash: string;
  /** 1-based line number in the file. */
  readonly line: number;
}

export interface UsersText {
  /** Canonical address -> entry, in file order. */
  readonly users: ReadonlyMap<string, UserEntry>;
  /** Bad lines, each naming the file and line. */
  readonly problems: readonly ConfigError[];
}

/** Judges the text of a users file; `file` only names it in problems. */
export function parseUsersText(text: string, file: string): UsersText {
  const users = new Map<string, UserEntry>();
  const problems: ConfigError[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const content = rawLine.trim();
    if (content === '' || content.startsWith('#')) return;
    const line = index + 1;
    const problem = (text: string): void => void problems.push(new ConfigError(file, text, { line }));
    const colon = content.lastIndexOf(':');
    if (colon < 0) return problem('expected address:hash');
    const address = canonicalUserAddress(content.slice(0, colon).trim());
    if (!address.ok) return problem(address.problem);
    const hash = content.slice(colon + 1).trim();
    const parsed = parsePasswordHash(hash);
    if (!parsed.ok) return problem(`the hash of ${address.address} ${parsed.problem}`);
    const earlier = users.get(address.address);
    if (earlier !== undefined) return problem(`${address.address} is already listed on line ${earlier.line}`);
    users.set(address.address, { address: address.address, hash, line });
  });
  return { users, problems };
}

/** The users AUTH accepts; immutable (a reload builds a new one). */
export type PasswordVerifier = (password: string, encoded: string) => Promise<boolean>;

export class UserDirectory {
  readonly file: string;
  private readonly hashes: ReadonlyMap<string, string>;
  private readonly verifyPassword: PasswordVerifier;

  /** `options.verifyPassword` defaults to scrypt verification (password-hash.ts). */
  constructor(file: string, users: Iterable<{ readonly address: string; readonly hash: string }>, options: { readonly verifyPassword?: PasswordVerifier } = {}) {
    this.file = file;
    this.hashes = new Map([...users].map(({ address, hash }) => [address, hash]));
    this.verifyPassword = options.verifyPassword ?? verifyPassword;
  }

  get size(): number {
    return this.hashes.size;
  }

  /** Canonical addresses in file order. */
  addresses(): readonly string[] {
    return [...this.hashes.keys()];
  }

  has(address: string): boolean {
    const canonical = canonicalUserAddress(address);
    return canonical.ok && this.hashes.has(canonical.address);
  }

  /**
   * True when `address` is a user and `password` is theirs. Unknown or malformed
   * addresses are checked against a dummy hash, so they take as long as known ones.
   */
  async verify(address: string, password: string): Promise<boolean> {
    const canonical = canonicalUserAddress(address);
    const hash = canonical.ok ? this.hashes.get(canonical.address) : undefined;
    const matches = await this.verifyPassword(password, hash ?? DUMMY_PASSWORD_HASH);
    return hash !== undefined && matches;
  }
}

export type UsersFileOutcome =
  | { readonly readable: true; readonly text: string; readonly parsed: UsersText }
  | { readonly readable: false; readonly missing: boolean; readonly reason: string };

/** Reads and parses `path`; an unreadable file is an outcome (missing flagged), not an exception. */
export async function readUsersFile(path: string): Promise<UsersFileOutcome> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    const code = errnoCode(error);
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : errorMessage(error);
    return { readable: false, missing: code === 'ENOENT', reason };
  }
  return { readable: true, text, parsed: parseUsersText(text, path) };
}

/** The users of `path` (at start and on SIGHUP; none while it does not exist); throws ConfigErrors naming the file and lines. */
export async function loadUsersFile(path: string): Promise<UserDirectory> {
  const outcome = await readUsersFile(path);
  if (!outcome.readable && outcome.missing) return new UserDirectory(path, []);
  if (!outcome.readable) throw new ConfigErrors([new ConfigError(path, `cannot read the users file: ${outcome.reason}`, { key: USERS_KEY })]);
  if (outcome.parsed.problems.length > 0) throw new ConfigErrors(outcome.parsed.problems);
  return new UserDirectory(path, outcome.parsed.users.values());
}
