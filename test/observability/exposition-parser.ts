// A strict reader for Prometheus text exposition format 0.0.4, written from
// the format description, so tests check the real text rather than our own
// renderer's idea of it.

export interface Sample {
  /** The sample's own name: the family name, or for a histogram `<family>_bucket`, `_sum` or `_count`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  help: string | undefined;
  type: string | undefined;
  readonly samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/;

/** Parses the whole text; throws on any line that is not HELP, TYPE or a sample of a declared family. */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition text must end with a line feed');
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let found = families.get(name);
    if (found === undefined) {
      found = { help: undefined, type: undefined, samples: [] };
      families.set(name, found);
    }
    return found;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help !== null) family(help[1] ?? '').help = unescapeHelp(help[2] ?? '');
    else if (type !== null) {
      const declared = family(type[1] ?? '');
      if (declared.samples.length > 0) throw new Error(`TYPE after samples: ${line}`);
      declared.type = type[2];
    } else {
      const sample = SAMPLE.exec(line);
      if (sample === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
      const name = sample[1] ?? '';
      const declared = families.get(name) ?? histogramOf(families, name);
      if (declared?.type === undefined) throw new Error(`sample without TYPE: ${line}`);
      declared.samples.push({ name, labels: parseLabels(sample[2] ?? ''), value: parseValue(sample[3] ?? '') });
    }
  }
  return families;
}

/** The family a `_bucket`, `_sum` or `_count` sample belongs to, when that family is a declared histogram. */
function histogramOf(families: Map<string, Family>, name: string): Family | undefined {
  const suffix = /_(bucket|sum|count)$/.exec(name);
  if (suffix === null) return undefined;
  const family = families.get(name.slice(0, -suffix[0].length));
  return family?.type === 'histogram' ? family : undefined;
}

/** The value of the sample with exactly these labels; `name` may be a histogram's `_bucket`, `_sum` or `_count`. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  return family?.samples.find((sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted)?.value;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === '') return labels;
  let rest = text.slice(1, -1);
  while (rest !== '') {
    const name = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(rest);
    if (name === null) throw new Error(`bad label list ${text}`);
    let index = name[0].length;
    let value = '';
    for (;;) {
      const char = rest[index];
      if (char === undefined || char === '\n') throw new Error(`unterminated label value in ${text}`);
      if (char === '"') break;
      if (char === '\\') {
        const next = rest[index + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape in ${text}`);
        index += 2;
      } else {
        value += char;
        index += 1;
      }
    }
    labels[name[1] ?? ''] = value;
    rest = rest.slice(index + 1);
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (rest !== '') throw new Error(`bad label separator in ${text}`);
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const value = Number(text);
  if (Number.isNaN(value) || text.trim() === '') throw new Error(`bad sample value ${text}`);
  return value;
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_match, char: string) => (char === 'n' ? '\n' : '\\'));
}
