// Test helper (not a test): writes a config file and its neighbours into a fresh
// temporary folder, and removes every folder it made.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export class TempConfigs {
  private readonly folders: string[] = [];

  /** Writes `files` (relative name -> text) into a new folder; returns the folder. */
  async write(files: Readonly<Record<string, string>>): Promise<string> {
    const folder = await mkdtemp(join(tmpdir(), 'outpost-config-'));
    this.folders.push(folder);
    for (const [name, text] of Object.entries(files)) {
      await mkdir(dirname(join(folder, name)), { recursive: true });
      await writeFile(join(folder, name), text);
    }
    return folder;
  }

  async removeAll(): Promise<void> {
    await Promise.all(this.folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
  }
}

/** A minimal valid configuration: the given YAML lines after `hostname` and `domains`. */
export function minimalYaml(...lines: string[]): string {
  return ['hostname: mx.example.org', 'domains: domains', ...lines, ''].join('\n');
}
