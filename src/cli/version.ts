// `outpost --version`: the version of the package.json that ships with the
// compiled CLI (dist/ in a release or the image, build/src/ in tests).

import { readFile } from 'node:fs/promises';

/** The package version, read from the nearest package.json named "outpost" above this file. */
export async function packageVersion(): Promise<string> {
  for (const relative of ['../../package.json', '../../../package.json']) {
    try {
      const manifest = JSON.parse(await readFile(new URL(relative, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'outpost' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // not there: try one folder up
    }
  }
  return 'unknown';
}
