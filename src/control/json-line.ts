// One line of the control protocol read as a JSON object: the requests and
// status lines are objects; anything else (bad JSON, an array, a string) is not one.

/** The object on the line, or undefined when the line is not a JSON object. */
export function jsonObjectOf(line: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
