// Reads configuration YAML into plain values plus the line of every key path
// (e.g. `listen[0].mode` -> 4), so problems can name where they are.

import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { errorMessage } from '../core/errors.js';
import { joinPath } from './schema.js';

export interface YamlProblem {
  readonly line: number | undefined;
  readonly problem: string;
}

export interface YamlSource {
  /** Plain JS values (mappings as objects); undefined when there were syntax problems. */
  readonly value: unknown;
  /** Key path -> 1-based line of the key (or of the list item). */
  readonly lines: ReadonlyMap<string, number>;
  readonly problems: readonly YamlProblem[];
}

export function parseYamlSource(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const lines = new Map<string, number>();
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => ({ line: lineAt(error.pos[0]), problem: `YAML syntax: ${firstLine(error.message)}` }));
    return { value: undefined, lines, problems };
  }
  recordLines(document.contents, '', lines, lineAt);
  try {
    return { value: document.toJS({ maxAliasCount: 100 }), lines, problems: [] };
  } catch (error: unknown) {
    return { value: undefined, lines, problems: [{ line: undefined, problem: `YAML: ${errorMessage(error)}` }] };
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function recordLines(node: unknown, path: string, lines: Map<string, number>, lineAt: (offset: number) => number): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const childPath = joinPath(path, String(pair.key.value));
      const start = pair.key.range?.[0];
      if (start !== undefined) lines.set(childPath, lineAt(start));
      recordLines(pair.value, childPath, lines, lineAt);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      const childPath = `${path}[${index}]`;
      const start = isNode(item) ? item.range?.[0] : undefined;
      if (start !== undefined) lines.set(childPath, lineAt(start));
      recordLines(item, childPath, lines, lineAt);
    });
  }
}
