// Runs an async function over many items with a cap on how many run at once,
// so scanning a large spool never opens thousands of files together.

export async function mapLimited<T, R>(
  items: readonly T[],
  maxConcurrent: number,
  operation: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (nextIndex < items.length) {
      const index = nextIndex;
      nextIndex += 1;
      results[index] = await operation(items[index] as T);
    }
  };
  const workerCount = Math.max(1, Math.min(maxConcurrent, items.length));
  await Promise.all(Array.from({ length: workerCount }, worker));
  return results;
}
