// Reads a new password for `outpost user add` from stdin: typed twice without echo on a
// terminal (raw mode, prompts on stderr), else the first line of piped input.

import { StringDecoder } from 'node:string_decoder';
import { ReadStream } from 'node:tty';
import type { CliIo } from './io.js';

/** Longer input is refused rather than silently cut. */
export const MAX_PASSWORD_OCTETS = 1024;
/** Shorter passwords are refused: AUTH is guessable online, the failed-AUTH limiter only slows it down. */
export const MIN_PASSWORD_CHARACTERS = 8;

export type PasswordInput = { readonly ok: true; readonly password: string } | { readonly ok: false; readonly problem: string };

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACES: ReadonlySet<string> = new Set(['\u007f', '\b']);

function isTerminal(stream: NodeJS.ReadableStream): stream is ReadStream {
  return stream instanceof ReadStream && stream.isTTY;
}

function judged(password: string): PasswordInput {
  if (password === '') return { ok: false, problem: 'empty password' };
  if ([...password].length < MIN_PASSWORD_CHARACTERS) return { ok: false, problem: `password shorter than ${MIN_PASSWORD_CHARACTERS} characters` };
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_OCTETS) return { ok: false, problem: `password longer than ${MAX_PASSWORD_OCTETS} octets` };
  return { ok: true, password };
}

export async function readPassword(io: CliIo): Promise<PasswordInput> {
  const stdin = io.stdin;
  if (stdin === undefined) return { ok: false, problem: 'no stdin to read the password from' };
  if (!isTerminal(stdin)) return readFirstLine(stdin);
  const first = await readHidden(stdin, io, 'Password: ');
  if (!first.ok) return first;
  const again = await readHidden(stdin, io, 'Password again: ');
  if (!again.ok) return again;
  return first.password === again.password ? first : { ok: false, problem: 'the two passwords differ; nothing changed' };
}

/** The first line of `stream` (CR LF or LF; EOF ends the last line), at most MAX_PASSWORD_OCTETS. */
function readFirstLine(stream: NodeJS.ReadableStream): Promise<PasswordInput> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let octets = 0;
    let sawInput = false;
    const finish = (result: PasswordInput): void => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.pause();
      resolve(result);
    };
    const line = (): PasswordInput => judged(Buffer.concat(chunks).toString('utf8').replace(/\r$/, ''));
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      sawInput ||= bytes.length > 0;
      const newline = bytes.indexOf(0x0a);
      chunks.push(newline < 0 ? bytes : bytes.subarray(0, newline));
      octets += newline < 0 ? bytes.length : newline;
      if (octets > MAX_PASSWORD_OCTETS + 1) finish({ ok: false, problem: `password longer than ${MAX_PASSWORD_OCTETS} octets` });
      else if (newline >= 0) finish(line());
    };
    const onEnd = (): void => finish(sawInput ? line() : { ok: false, problem: 'no password on stdin (pipe it in, or run on a terminal)' });
    const onError = (error: Error): void => finish({ ok: false, problem: `cannot read stdin: ${error.message}` });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}

/** One line typed on the terminal with echo off; Ctrl-C or Ctrl-D (on an empty line) abort. */
function readHidden(terminal: ReadStream, io: CliIo, prompt: string): Promise<PasswordInput> {
  // Echo goes off before the prompt shows, so nothing typed after it is ever echoed.
  const wasRaw = terminal.isRaw;
  terminal.setRawMode(true);
  io.stderr.write(prompt);
  const decoder = new StringDecoder('utf8');
  return new Promise((resolve) => {
    let typed = '';
    const finish = (result: PasswordInput): void => {
      terminal.removeListener('data', onData);
      terminal.removeListener('end', onEnd);
      terminal.setRawMode(wasRaw);
      terminal.pause();
      io.stderr.write('\n');
      resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const character of typeof chunk === 'string' ? chunk : decoder.write(chunk)) {
        if (character === '\r' || character === '\n') return finish(judged(typed));
        if (character === CTRL_C || (character === CTRL_D && typed === '')) return finish({ ok: false, problem: 'cancelled' });
        if (BACKSPACES.has(character)) typed = [...typed].slice(0, -1).join('');
        else if (character >= ' ') typed += character;
      }
      if (Buffer.byteLength(typed, 'utf8') > MAX_PASSWORD_OCTETS) finish({ ok: false, problem: `password longer than ${MAX_PASSWORD_OCTETS} octets` });
    };
    const onEnd = (): void => finish({ ok: false, problem: 'cancelled' });
    terminal.on('data', onData);
    terminal.once('end', onEnd);
    terminal.resume();
  });
}
