// Deep freezing of the validated configuration, including read-only Map and
// Set instances whose mutators throw (Object.freeze alone does not stop Map.set).

export class FrozenMap<K, V> extends Map<K, V> {
  constructor(entries: Iterable<readonly [K, V]> = []) {
    super();
    for (const [key, value] of entries) super.set(key, value);
    Object.freeze(this);
  }

  override set(): this {
    throw new TypeError('this map is read-only');
  }

  override delete(): boolean {
    throw new TypeError('this map is read-only');
  }

  override clear(): void {
    throw new TypeError('this map is read-only');
  }
}

export class FrozenSet<T> extends Set<T> {
  constructor(values: Iterable<T> = []) {
    super();
    for (const value of values) super.add(value);
    Object.freeze(this);
  }

  override add(): this {
    throw new TypeError('this set is read-only');
  }

  override delete(): boolean {
    throw new TypeError('this set is read-only');
  }

  override clear(): void {
    throw new TypeError('this set is read-only');
  }
}

/** Freezes `value` and every plain object, array and map value reachable from it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Map) for (const item of value.values()) deepFreeze(item);
  else if (!Object.isFrozen(value)) for (const item of Object.values(value)) deepFreeze(item);
  return Object.freeze(value);
}
