// Waiting for a writable stream to take more: 'drain', or its end by error or
// close (an error is reported where the stream's result is read, not here).

import type { Writable } from 'node:stream';

/** Resolves when the stream drains, errors or closes. */
export function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
    stream.on('close', done);
  });
}
