// Wraps a MessageSink so that each durable commit is announced: the SMTP
// server and the delivery scheduler meet only through the spool, and this is
// how the scheduler learns of a new message at once.

import type { EnvelopeRecord, MessageSink, MessageWriter } from './types.js';

export function notifyOnCommit(sink: MessageSink, onCommitted: (record: EnvelopeRecord) => void): MessageSink {
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
          onCommitted(record);
          return record;
        },
      };
    },
  };
}
