// A webhook receiver for tests: a real HTTP server on 127.0.0.1 whose answer to
// each POST the test chooses (fail with 500, hang until the client gives up, or
// accept), keeping every request's headers and body.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceiverMode = 'fail' | 'hang' | 'accept';

export interface ReceivedPost {
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly contentType: string;
  readonly body: string;
  readonly answered: ReceiverMode;
}

export interface TestReceiver {
  readonly url: string;
  mode: ReceiverMode;
  readonly posts: ReceivedPost[];
  /** Resolves once `count` POSTs have arrived in all (answered or not). */
  waitForPosts(count: number): Promise<void>;
  /** Resolves once `count` POSTs have been accepted. */
  waitForAccepted(count: number): Promise<void>;
  accepted(): ReceivedPost[];
  close(): Promise<void>;
}

export async function startReceiver(mode: ReceiverMode = 'accept'): Promise<TestReceiver> {
  const posts: ReceivedPost[] = [];
  let waiters: { readonly done: () => boolean; readonly resolve: () => void }[] = [];
  const check = (): void => {
    const ready = waiters.filter((waiter) => waiter.done());
    waiters = waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  };
  const wait = (done: () => boolean): Promise<void> => (done() ? Promise.resolve() : new Promise((resolve) => waiters.push({ done, resolve })));
  const receiver: TestReceiver = {
    url: '',
    mode,
    posts,
    waitForPosts: (count) => wait(() => posts.length >= count),
    waitForAccepted: (count) => wait(() => receiver.accepted().length >= count),
    accepted: () => posts.filter((post) => post.answered === 'accept'),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answered = receiver.mode;
      const header = (name: string): string => String(request.headers[name] ?? '');
      posts.push({ id: header('webhook-id'), timestamp: header('webhook-timestamp'), signature: header('webhook-signature'), contentType: header('content-type'), body: Buffer.concat(chunks).toString('utf8'), answered });
      if (answered === 'fail') response.writeHead(500).end('down');
      else if (answered === 'accept') response.writeHead(204).end();
      check();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (receiver as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/outpost`;
  return receiver;
}
