// The `outpost` command: dispatches to one module per command (INTERFACE.md
// "Command line"). Each command parses its own options with node:util parseArgs.

import { EXIT_USAGE, writeLine, type CliCommand, type CliIo } from './io.js';
import { packageVersion } from './version.js';

const USAGE = `usage: outpost <command> [options]

commands:
  serve [--config FILE]                 run the relay in the foreground
  check-config [--config FILE]          validate the configuration
  health [--config FILE]                ask the running server's /healthz (exit 0 healthy)
  init DIR                              write the sample config (outpost.yaml, domains) into DIR
  queue list [--json]                   list queued messages
  queue show ID                         show one queued message
  queue why ID|--all [--json]           why a message is queued: attempts, reasons, what happens next
  queue flush [ID]                      try one or all deferred messages now
  queue delete ID                       remove a message, no bounce
  queue bounce ID                       give up on a message and send its DSN
  resolve DOMAIN [--json]               show the delivery plan for a domain
  user add|remove ADDRESS, user list    manage AUTH users (password from stdin)
  dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits N]
                                        write a DKIM key and print its DNS record
  dkim records [DOMAIN]                 print the DKIM records of the keys on disk
  dkim rotate DOMAIN                    make the next key; it signs once DNS shows it
  doctor [DOMAIN] [--json]              check SPF, DKIM, DMARC, PTR, MX and more in live DNS
  suppress list [--json]                addresses refused at RCPT after permanent failures
  suppress add|remove ADDRESS           suppress an address now, or lift a suppression

--version prints the version; <command> --help the usage of a command.
--config defaults to $OUTPOST_CONFIG, then config/outpost.yaml`;

type CommandLoader = () => Promise<CliCommand>;

const COMMANDS: Readonly<Record<string, CommandLoader>> = {
  serve: async () => (await import('./serve.js')).serveCommand,
  'check-config': async () => (await import('./check-config.js')).checkConfigCommand,
  health: async () => (await import('./health.js')).healthCommand,
  init: async () => (await import('./init.js')).initCommand,
  queue: async () => (await import('./queue.js')).queueCommand,
  resolve: async () => (await import('./resolve.js')).resolveCommand,
  user: async () => (await import('./user.js')).userCommand,
  dkim: async () => (await import('./dkim.js')).dkimCommand,
  doctor: async () => (await import('./doctor.js')).doctorCommand,
  suppress: async () => (await import('./suppress.js')).suppressCommand,
};

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    writeLine(name === undefined ? io.stderr : io.stdout, USAGE);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    writeLine(io.stdout, `outpost ${await packageVersion()}`);
    return 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    writeLine(io.stderr, `outpost: unknown command '${name}'\n${USAGE}`);
    return EXIT_USAGE;
  }
  const command = await load();
  return command(rest, io);
}
