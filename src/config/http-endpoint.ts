// The operations HTTP endpoint (`http.address:port`) of a config file, read on its
// own: `outpost health` asks a running server, so a problem elsewhere in the config
// (a key being edited, a file the server already loaded) must not hide the answer.

import { dirname, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { readEnvOverrides } from './env.js';
import { readTextFile } from './files.js';
import { locator } from './load.js';
import type { HttpConfig } from './types.js';
import { validateConfig } from './validate.js';
import { parseYamlSource } from './yaml-source.js';

export type HttpEndpoint = { readonly on: true; readonly http: HttpConfig } | { readonly on: false };

export type HttpEndpointOutcome = { readonly ok: true; readonly endpoint: HttpEndpoint } | { readonly ok: false; readonly problems: readonly ConfigError[] };

const HTTP_SECTION = 'http';

function aboutHttp(path: string): boolean {
  return path === HTTP_SECTION || path.startsWith(`${HTTP_SECTION}.`);
}

/** `http` of `file` with `env` overrides; only problems of the file itself and of the http keys count. */
export async function readHttpEndpoint(file: string, env: Readonly<Record<string, string | undefined>>): Promise<HttpEndpointOutcome> {
  const configFile = resolve(file);
  const text = await readTextFile(configFile);
  if (!text.ok) return { ok: false, problems: [new ConfigError(configFile, `cannot read the config file: ${text.problem}`)] };
  const source = parseYamlSource(text.value);
  if (source.problems.length > 0) {
    return { ok: false, problems: source.problems.map(({ line, problem }) => new ConfigError(configFile, problem, { line })) };
  }
  const environment = readEnvOverrides(env);
  const validation = validateConfig(source.value, environment.overrides, dirname(configFile));
  const locate = locator(configFile, source.lines, environment.overrides);
  const problems = [
    ...validation.issues.filter((issue) => aboutHttp(issue.path)).map(locate),
    ...environment.problems.filter((problem) => problem.key?.startsWith('OUTPOST_HTTP_') === true),
  ];
  if (problems.length > 0) return { ok: false, problems };
  const address = validation.leaves.get('http.address');
  const port = validation.leaves.get('http.port');
  if (typeof address === 'string' && typeof port === 'number') return { ok: true, endpoint: { on: true, http: { address, port } } };
  return { ok: true, endpoint: { on: false } };
}
