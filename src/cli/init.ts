// `outpost init DIR`: writes the sample configuration (the package's config/outpost.yaml
// and config/domains) into DIR to start from; never overwrites a file.

import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readFailureReason } from '../config/files.js';
import { errnoCode, errorMessage } from '../core/errors.js';
import { answerUsage, EXIT_FAILURE, EXIT_OK, writeLine, type CliCommand } from './io.js';

const USAGE = 'usage: outpost init DIR     write the sample config (outpost.yaml, domains) into DIR; existing files are never overwritten';

/** The sample files, as shipped in the package's config/ folder (and the image's /usr/share/outpost/config). */
export const SAMPLE_FILES = ['outpost.yaml', 'domains'] as const;

/** The package's config/ folder beside the compiled CLI (dist/ in a release or the image, build/src/ in tests). */
async function sampleFolder(): Promise<string | undefined> {
  for (const relative of ['../../config/', '../../../config/']) {
    const folder = fileURLToPath(new URL(relative, import.meta.url));
    try {
      await access(join(folder, 'outpost.yaml'));
      return folder;
    } catch {
      // not there: try one folder up
    }
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error: unknown) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

export const initCommand: CliCommand = async (args, io) => {
  let target: string;
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
    if (values.help === true) return answerUsage('help', 'init', USAGE, io);
    if (positionals.length !== 1 || positionals[0] === undefined) return answerUsage('expected one DIR', 'init', USAGE, io);
    target = resolve(io.cwd, positionals[0]);
  } catch (error: unknown) {
    return answerUsage(errorMessage(error), 'init', USAGE, io);
  }
  const samples = await sampleFolder();
  if (samples === undefined) {
    writeLine(io.stderr, 'outpost init: the sample config folder is missing from this installation');
    return EXIT_FAILURE;
  }
  const files = SAMPLE_FILES.map((name) => ({ from: join(samples, name), to: join(target, name) }));
  try {
    const present = [];
    for (const { to } of files) if (await exists(to)) present.push(to);
    if (present.length > 0) {
      writeLine(io.stderr, `outpost init: ${present.join(' and ')} already exist${present.length === 1 ? 's' : ''}; nothing was written`);
      return EXIT_FAILURE;
    }
    await mkdir(target, { recursive: true });
    for (const { from, to } of files) await writeFile(to, await readFile(from), { flag: 'wx', mode: 0o644 });
  } catch (error: unknown) {
    writeLine(io.stderr, `outpost init: cannot write into ${target}: ${readFailureReason(error)} (the folder must be writable by this user)`);
    return EXIT_FAILURE;
  }
  const config = join(target, 'outpost.yaml');
  writeLine(io.stdout, `wrote ${files.map(({ to }) => to).join(' and ')}: set hostname in ${config} and your domains in ${join(target, 'domains')}, then run \`outpost check-config --config ${config}\``);
  return EXIT_OK;
};
