/**
 * A Server-Sent Events client over fetch, for the chat stream:
 * `id: <turn>-<seq>`, `data: {type, ...}`, `: keepalive` comments.
 *
 * `SSEParser` is the line protocol (`eventsource-parser`); `followTurn` reads a turn's
 * stream to its `done` event and re-attaches with `Last-Event-ID` when the connection drops
 * (a request of our own: a turn starts with a POST and is re-attached to with a GET).
 */

import { createParser, EventSourceParser } from 'eventsource-parser';

import { errorTranslation } from './errors';
import { backoffDelay, isRetryable, retryAfterMs, sleep } from './retry';

export interface ISSEMessage {
  id: string | null;
  event: string;
  data: string;
}

/**
 * The SSE line protocol (WHATWG rules: lines split anywhere across chunks, CR, LF or CRLF,
 * comments, multi-line data) by `eventsource-parser`; this keeps the last id across
 * events, as the spec says, and returns the events each chunk completed.
 */
export class SSEParser {
  /** The last `id` seen, kept across events as the spec says. */
  lastEventId: string | null = null;
  private completed: ISSEMessage[] = [];
  private parser: EventSourceParser = createParser({
    onEvent: message => {
      if (message.id !== undefined) {
        this.lastEventId = message.id;
      }
      this.completed.push({
        id: this.lastEventId,
        event: message.event ?? 'message',
        data: message.data
      });
    }
  });

  /** Feed a decoded chunk; returns the events it completed. */
  feed(chunk: string): ISSEMessage[] {
    this.parser.feed(chunk);
    const out = this.completed;
    this.completed = [];
    return out;
  }
}

/** One event of a chat turn. */
export interface IChatEvent {
  type: string;
  [key: string]: any;
}

export interface IFollowOptions {
  /** Opens the stream again after a drop: `GET .../chat/stream` with `Last-Event-ID`. */
  reattach: (lastEventId: string | null) => Promise<Response>;
  /**
   * Every event, in order, once; `prev` is the id of the event before it on the same
   * connection (the `Last-Event-ID` the connection was opened with, null for none), so
   * the events a joined one stands for are known (see `IStreamEvent` in chat.ts).
   */
  onEvent: (event: IChatEvent, id: string | null, prev: string | null) => void;
  /** Told when the connection dropped and a re-attach is under way. */
  onReconnecting?: (attempt: number) => void;
  /** Waits the given time before a re-attach (`backoffDelay`: about 1 s, 2 s, 4 s...). */
  wait?: (ms: number) => Promise<void>;
  /** Drops in a row without a single new event before giving up. */
  maxAttempts?: number;
  signal?: AbortSignal;
  /** Where to start: the id of the last event already seen. */
  lastEventId?: string | null;
}

export type FollowResult =
  | { outcome: 'done'; lastEventId: string | null }
  | { outcome: 'aborted'; lastEventId: string | null };

/** Thrown when a re-attach is answered with an error (e.g. 404: the turn is gone). */
export class StreamError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: any = null
  ) {
    super(message);
  }
}

/**
 * Read a turn's events from `response` until `done`. A dropped connection (the body ends
 * or fails before `done`) re-attaches with the last id, so no event is lost or repeated.
 */
export async function followTurn(
  response: Response,
  options: IFollowOptions
): Promise<FollowResult> {
  const wait = options.wait ?? sleep;
  const maxAttempts = options.maxAttempts ?? 5;
  let lastEventId = options.lastEventId ?? null;
  let current: Response | null = response;
  // the id the current connection was opened after: what its first event follows
  let openedAfter = lastEventId;
  let failures = 0;
  let askedToWait = 0; // the last refusal's Retry-After
  for (;;) {
    if (current) {
      const parser = new SSEParser();
      let prev = openedAfter;
      let progressed = false;
      let finished = false;
      try {
        const reader = current.body!.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          if (options.signal?.aborted) {
            await reader.cancel().catch(() => undefined);
            return { outcome: 'aborted', lastEventId };
          }
          const { done, value } = await reader.read();
          const chunk = done
            ? decoder.decode()
            : decoder.decode(value, { stream: true });
          for (const message of parser.feed(chunk + (done ? '\n\n' : ''))) {
            let data: IChatEvent;
            try {
              data = JSON.parse(message.data);
            } catch {
              continue; // not ours; never fatal
            }
            lastEventId = message.id ?? lastEventId;
            progressed = true;
            options.onEvent(data, message.id, prev);
            prev = message.id ?? prev;
            if (data.type === 'done') {
              finished = true;
            }
          }
          if (finished) {
            await reader.cancel().catch(() => undefined);
            return { outcome: 'done', lastEventId };
          }
          if (done) {
            break;
          }
        }
      } catch (error) {
        if (options.signal?.aborted) {
          return { outcome: 'aborted', lastEventId };
        }
        // a network drop mid-stream: re-attach below
      }
      failures = progressed ? 1 : failures + 1;
    } else {
      failures += 1;
    }
    if (failures > maxAttempts) {
      throw new StreamError(
        0,
        errorTranslation().__(
          'The connection to the chat was lost and could not be restored.'
        )
      );
    }
    options.onReconnecting?.(failures);
    await wait(backoffDelay(failures, askedToWait));
    askedToWait = 0;
    if (options.signal?.aborted) {
      return { outcome: 'aborted', lastEventId };
    }
    try {
      openedAfter = lastEventId;
      current = await options.reattach(lastEventId);
    } catch {
      current = null; // still offline
      continue;
    }
    if (!current.ok) {
      const status = current.status;
      let body: any = null;
      try {
        body = await current.json();
      } catch {
        body = null;
      }
      if (isRetryable(status)) {
        askedToWait = retryAfterMs(current);
        current = null;
        continue;
      }
      throw new StreamError(status, body?.error ?? `HTTP ${status}`, body);
    }
  }
}
