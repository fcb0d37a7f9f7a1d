// Named replies of the SMTP server with their enhanced status codes
// (RFC 5321 §4.2, RFC 3463, RFC 1870, RFC 6531, RFC 7504, RFC 3030). Handlers use these,
// never bare numbers; the text is the default and may be replaced with withText().

import { reply } from './reply.js';

export const Replies = {
  // 2xx
  ok: reply(250, '2.0.0', 'Ok'),
  senderOk: reply(250, '2.1.0', 'Sender ok'),
  recipientOk: reply(250, '2.1.5', 'Recipient ok'),
  duplicateRecipient: reply(250, '2.1.5', 'Recipient ok (duplicate: delivered once)'),
  resetOk: reply(250, '2.0.0', 'Reset state'),
  /** RFC 3030 §2: a BDAT chunk other than the last, received whole (the text says how many octets). */
  chunkReceived: reply(250, '2.0.0', 'Ok: chunk received'),
  closing: reply(221, '2.0.0', 'Bye'),
  cannotVerify: reply(252, '2.0.0', 'Cannot VRFY user, but will accept message and attempt delivery'),
  help: reply(214, '2.0.0', 'See https://www.rfc-editor.org/rfc/rfc5321 ; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP'),
  readyToStartTls: reply(220, '2.0.0', 'Ready to start TLS'),
  authSucceeded: reply(235, '2.7.0', 'Authentication successful'),
  // 3xx
  startMailInput: reply(354, undefined, 'End data with <CR><LF>.<CR><LF>'),
  // 4xx
  shuttingDown: reply(421, '4.3.2', 'Service shutting down, closing transmission channel'),
  tooManyConnections: reply(421, '4.7.0', 'Too many connections, try again later'),
  tooManyConnectionsFromYou: reply(421, '4.7.0', 'Too many connections from your address, try again later'),
  idleTimeout: reply(421, '4.4.2', 'Timeout exceeded, closing transmission channel'),
  dataTooSlow: reply(421, '4.4.2', 'Data rate too low, closing transmission channel'),
  tooManyErrors: reply(421, '4.7.0', 'Too many errors, closing transmission channel'),
  authLockedOut: reply(421, '4.7.0', 'Too many failed authentications from your address, try again later'),
  localError: reply(451, '4.3.0', 'Local error in processing, try again later'),
  spoolFull: reply(452, '4.3.1', 'Insufficient system storage, try again later'),
  diskReserveReached: reply(452, '4.3.1', 'Insufficient system storage: the spool disk is nearly full, try again later'),
  tooManyRecipients: reply(452, '4.5.3', 'Too many recipients'),
  recipientUnverified: reply(450, '4.1.1', 'Recipient address rejected: unverified address: the next hop cannot be asked now, try again later'),
  // 5xx syntax and sequence
  commandUnrecognized: reply(500, '5.5.2', 'Command unrecognized'),
  lineTooLong: reply(500, '5.5.2', 'Line too long'),
  bareLfInCommand: reply(500, '5.5.2', 'Bare LF in command line; lines end with CRLF (RFC 5321 §2.3.8)'),
  nulOrBareCrInCommand: reply(500, '5.5.2', 'Command line contains a NUL or bare CR'),
  syntaxError: reply(501, '5.5.4', 'Syntax error in parameters or arguments'),
  bdatSyntax: reply(501, '5.5.4', 'Syntax: BDAT chunk-size [LAST]'),
  /** RFC 3030 §2: without a readable size the chunk's end is unknown, so the connection ends (as Postfix does). */
  bdatSizeUnreadable: reply(521, '5.5.4', 'Syntax: BDAT chunk-size [LAST]; the chunk cannot be skipped, closing connection'),
  badSenderAddress: reply(501, '5.1.7', 'Bad sender address syntax'),
  badRecipientAddress: reply(501, '5.1.3', 'Bad recipient address syntax'),
  pathTooLong: reply(501, '5.5.4', 'Path too long'),
  notImplemented: reply(502, '5.5.1', 'Command not implemented'),
  badSequence: reply(503, '5.5.1', 'Bad sequence of commands'),
  heloFirst: reply(503, '5.5.1', 'Send EHLO or HELO first'),
  tlsAlreadyActive: reply(503, '5.5.1', 'TLS already active'),
  transactionInProgress: reply(503, '5.5.1', 'MAIL transaction in progress'),
  nestedMail: reply(503, '5.5.1', 'Sender already specified'),
  needMail: reply(503, '5.5.1', 'Need MAIL command first'),
  needRcpt: reply(503, '5.5.1', 'Need RCPT command first'),
  dataAfterBdat: reply(503, '5.5.1', 'DATA after BDAT in the same transaction'),
  rcptAfterBdat: reply(503, '5.5.1', 'RCPT after BDAT in the same transaction'),
  unknownParameter: reply(555, '5.5.4', 'Unsupported MAIL FROM or RCPT TO parameter'),
  // 5xx policy and content
  messageTooBig: reply(552, '5.3.4', 'Message size exceeds fixed maximum message size'),
  /** From a client that is not authorized: outpost does not rewrite mail it only passes on (README "Long lines"). */
  messageLineTooLong: reply(554, '5.6.0', 'Message has lines longer than 998 octets (RFC 5322 §2.1.1): encode it as quoted-printable or base64'),
  /** From an authorized client, when re-encoding cannot fix it (RFC 3463 X.6.3: conversion required but not possible). */
  lineNotFixable: reply(554, '5.6.3', 'Message has lines longer than 998 octets that cannot be re-encoded'),
  headerLineUnfoldable: reply(554, '5.6.3', 'Header line longer than 998 octets cannot be folded'),
  authFailed: reply(535, '5.7.8', 'Authentication credentials invalid'),
  authMalformed: reply(501, '5.5.2', 'Cannot decode the authentication exchange'),
  authCancelled: reply(501, '5.0.0', 'Authentication cancelled'),
  authUnsupportedMechanism: reply(504, '5.5.4', 'Unrecognized authentication type'),
  authLineTooLong: reply(500, '5.5.6', 'Authentication exchange line is too long'),
  authAlreadyDone: reply(503, '5.5.1', 'Already authenticated'),
  encryptionRequired: reply(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  utf8NotDeclared: reply(553, '5.6.7', 'Must declare SMTPUTF8 to send a UTF-8 address'),
  relayDenied: reply(554, '5.7.1', 'Relay access denied'),
  spoofedSender: reply(550, '5.7.1', 'Sender address in a local domain: authenticate on the submission port'),
  senderNotOwned: reply(553, '5.7.1', 'Sender address not owned by the authenticated user: use an address in a local domain'),
  authRequired: reply(530, '5.7.0', 'Authentication required'),
  /** RFC 8689 §2, RFC 5248 X.7.10 (encryption needed): the REQUIRETLS option outside TLS. */
  requireTlsNeedsTls: reply(530, '5.7.10', 'REQUIRETLS needs TLS: use STARTTLS first'),
  mailLoop: reply(554, '5.4.6', 'Too many Received headers: mail loop detected'),
  noValidRecipients: reply(554, '5.5.1', 'No valid recipients'),
  recipientUnknown: reply(550, '5.1.1', 'Recipient address rejected: User unknown (verified with the next hop)'),
  recipientNotListed: reply(550, '5.1.1', 'Recipient address rejected: User unknown in the recipients file'),
} as const;
