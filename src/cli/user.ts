// `outpost user add|remove|list` (INTERFACE.md "Command line"): manages the AUTH users file named
// by the config's `users` key; passwords come from stdin (no echo on a TTY), never from argv.

import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { readFailureReason } from '../config/files.js';
import { hashPassword } from '../auth/password-hash.js';
import { canonicalUserAddress } from '../auth/user-address.js';
import { readUsersFile } from '../auth/users-file.js';
import { updateUsersFile } from '../auth/users-file-write.js';
import type { Config } from '../config/types.js';
import { errorMessage } from '../core/errors.js';
import { answerUsage, EXIT_FAILURE, EXIT_OK, writeLine, type CliCommand, type CliIo } from './io.js';
import { loadConfigOrReport } from './config-load.js';
import { mailClientSettings } from './mail-client-settings.js';
import { readPassword } from './user-password.js';

const USAGE = `usage: outpost user add ADDRESS [--config FILE]     add a user or replace its password (read from stdin)
       outpost user remove ADDRESS [--config FILE]
       outpost user list [--config FILE]`;

/** `address` is canonical (user-address.ts); `domain` is its domain. */
type UserAction = { readonly verb: 'add' | 'remove'; readonly address: string; readonly domain: string } | { readonly verb: 'list' };

interface UserOptions {
  readonly action: UserAction;
  readonly config: string | undefined;
}

function parse(args: readonly string[]): UserOptions | 'help' | string {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (error: unknown) {
    return errorMessage(error);
  }
  if (parsed.values.help === true) return 'help';
  const [verb, address, ...extra] = parsed.positionals;
  const config = parsed.values.config;
  if (verb === 'list') return address === undefined ? { action: { verb }, config } : 'user list takes no ADDRESS';
  if (verb !== 'add' && verb !== 'remove') return verb === undefined ? 'expected add, remove or list' : `unknown subcommand '${verb}'`;
  if (address === undefined || extra.length > 0) return `user ${verb} takes exactly one ADDRESS (the password is read from stdin)`;
  const canonical = canonicalUserAddress(address);
  if (!canonical.ok) return canonical.problem;
  return { action: { verb, address: canonical.address, domain: canonical.domain }, config };
}

async function listUsers(usersFile: string, io: CliIo): Promise<number> {
  const outcome = await readUsersFile(usersFile);
  if (!outcome.readable && outcome.missing) {
    writeLine(io.stderr, `no users yet (${usersFile} does not exist; \`outpost user add\` creates it)`);
    return EXIT_OK;
  }
  if (!outcome.readable) {
    writeLine(io.stderr, `outpost user: cannot read ${usersFile}: ${outcome.reason}`);
    return EXIT_FAILURE;
  }
  for (const problem of outcome.parsed.problems) writeLine(io.stderr, problem.message);
  for (const address of outcome.parsed.users.keys()) writeLine(io.stdout, address);
  return outcome.parsed.problems.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

async function changeUser(action: UserAction & { verb: 'add' | 'remove' }, config: Config, usersFile: string, io: CliIo): Promise<number> {
  if (action.verb === 'add' && !config.domains.has(action.domain)) {
    writeLine(io.stderr, `outpost user add: ${action.domain} is not a local domain (not in ${config.domainsFile}); AUTH users send from local domains, so add the domain there first`);
    return EXIT_FAILURE;
  }
  let hash: string | undefined;
  if (action.verb === 'add') {
    const password = await readPassword(io);
    if (!password.ok) {
      writeLine(io.stderr, `outpost user add: ${password.problem}`);
      return EXIT_FAILURE;
    }
    hash = await hashPassword(password.password);
  }
  const change = hash === undefined ? { kind: 'remove' as const, address: action.address } : { kind: 'set' as const, address: action.address, hash };
  let update: Awaited<ReturnType<typeof updateUsersFile>>;
  try {
    update = await updateUsersFile(usersFile, change);
  } catch (error: unknown) {
    // A missing or read-only folder (a volume mounted read-only): one line, no stack trace.
    writeLine(io.stderr, `outpost user ${action.verb}: cannot write ${usersFile}: ${readFailureReason(error)} (the folder ${dirname(usersFile)} must exist and be writable by this user)`);
    return EXIT_FAILURE;
  }
  if (!update.ok) {
    if (update.reason === 'unreadable') writeLine(io.stderr, `outpost user ${action.verb}: cannot read ${usersFile}: ${update.detail}`);
    else for (const problem of update.problems) writeLine(io.stderr, problem.message);
    if (update.reason === 'invalid') writeLine(io.stderr, `outpost user ${action.verb}: fix the lines above first; ${usersFile} was not changed`);
    return EXIT_FAILURE;
  }
  const said: Record<typeof update.outcome, string> = {
    added: `added ${action.address}`,
    replaced: `${action.address} already existed: replaced its password`,
    removed: `removed ${action.address}`,
    absent: `${action.address} is not a user in ${usersFile}`,
  };
  if (update.outcome === 'absent') {
    writeLine(io.stderr, `outpost user remove: ${said.absent}`);
    return EXIT_FAILURE;
  }
  writeLine(io.stdout, `${said[update.outcome]} (a running outpost reads ${usersFile} again on SIGHUP)`);
  if (action.verb === 'add') for (const line of mailClientSettings(config, action.address)) writeLine(io.stdout, line);
  return EXIT_OK;
}

export const userCommand: CliCommand = async (args: readonly string[], io: CliIo) => {
  const options = parse(args);
  if (typeof options === 'string') return answerUsage(options, 'user', USAGE, io);
  return runAction(options.action, options.config, io);
};

async function runAction(action: UserAction, configOption: string | undefined, io: CliIo): Promise<number> {
  const config = await loadConfigOrReport(configOption, io);
  if (config === undefined) return EXIT_FAILURE;
  if (config.usersFile === undefined) {
    writeLine(io.stderr, `outpost user: ${config.configFile} has no \`users\` key; set it (e.g. \`users: users\`) to name the users file, then run this again`);
    return EXIT_FAILURE;
  }
  if (action.verb === 'list') return listUsers(config.usersFile, io);
  return changeUser(action, config, config.usersFile, io);
}
