// The one base class for exceptional failures (bugs and I/O), each with a
// stable `code`. Expected outcomes are values, not exceptions (STYLE.md §4-5).

export class OutpostError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutpostError';
    this.code = code;
  }
}

/**
 * A configuration problem: names the file, the key path and, for line-based files, the line.
 * The message reads `<file>[:<line>]: [<key>: ]<problem>`.
 */
export class ConfigError extends OutpostError {
  readonly file: string;
  readonly key: string | undefined;
  readonly line: number | undefined;
  readonly problem: string;

  constructor(file: string, problem: string, where: { key?: string | undefined; line?: number | undefined } = {}) {
    const place = where.line === undefined ? file : `${file}:${where.line}`;
    super('ECONFIG', where.key === undefined ? `${place}: ${problem}` : `${place}: ${where.key}: ${problem}`);
    this.name = 'ConfigError';
    this.file = file;
    this.key = where.key;
    this.line = where.line;
    this.problem = problem;
  }
}

/** Several configuration problems found in one pass, reported together. */
export class ConfigErrors extends OutpostError {
  readonly problems: readonly ConfigError[];

  constructor(problems: readonly ConfigError[]) {
    super('ECONFIG', problems.map((problem) => problem.message).join('\n'));
    this.name = 'ConfigErrors';
    this.problems = problems;
  }
}

/** Spool I/O failure; `noSpace` tells the SMTP layer to answer 452 4.3.1 instead of 451 4.3.0. */
export class SpoolError extends OutpostError {
  readonly noSpace: boolean;

  constructor(message: string, options: { cause?: unknown; noSpace?: boolean } = {}) {
    super(options.noSpace === true ? 'ESPOOLFULL' : 'ESPOOL', message, { cause: options.cause });
    this.name = 'SpoolError';
    this.noSpace = options.noSpace ?? false;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The errno code of a Node system error, if any. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
