// Wraps a MessageSink so that something runs after each durable commit, before
// the commit resolves (and so before the client's 250): the delivery scheduler
// learns of a new message at once (the SMTP server and the scheduler meet only
// through the spool), and webhooks record the "queued" event.

import type { EnvelopeRecord, MessageSink, MessageWriter } from './types.js';

/** `afterCommit` runs (and is awaited) after each commit of `sink`; it must not reject. */
export function onEachCommit(sink: MessageSink, afterCommit: (record: EnvelopeRecord) => void | Promise<void>): MessageSink {
  return {
    async begin(): Promise<MessageWriter> {
      const writer = await sink.begin();
      return {
        id: writer.id,
        body: writer.body,
        abort: () => writer.abort(),
        rewriteBody: () => writer.rewriteBody(),
        async commit(envelope) {
          const record = await writer.commit(envelope);
          await afterCommit(record);
          return record;
        },
      };
    },
  };
}
