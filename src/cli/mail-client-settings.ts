// What a person types into a mail client (Thunderbird, Outlook, a phone) to send
// through outpost: server, port and security per listener (RFC 6409, RFC 8314), user name.

import type { Config } from '../config/types.js';

/** Lines to print after `outpost user add`, from the listeners the config runs. */
export function mailClientSettings(config: Config, address: string): string[] {
  const ports = config.listen.flatMap((listener) => {
    if (listener.mode === 'submission') return [`  port ${listener.port}, connection security STARTTLS`];
    if (listener.mode === 'smtps') return [`  port ${listener.port}, connection security SSL/TLS`];
    return [];
  });
  if (ports.length === 0) {
    return ['Mail clients cannot log in yet: the config has no submission (587) or smtps (465) listener; add one to `listen` (with `tls`).'];
  }
  return [
    'Mail client settings (outgoing mail server, SMTP):',
    `  server ${config.hostname}`,
    ...ports,
    `  user name ${address}, the password just set; "server requires authentication" (normal password)`,
  ];
}
