import { followTurn, SSEParser, StreamError } from '../sse';

function body(chunks: string[], fail = false): Response {
  const encoder = new TextEncoder();
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) {
        controller.enqueue(encoder.encode(chunks[i++]));
      } else if (fail) {
        controller.error(new TypeError('network error'));
      } else {
        controller.close();
      }
    }
  });
  return new Response(stream, {
    status: 200,
    headers: { 'Content-Type': 'text/event-stream' }
  });
}

const ev = (id: string, data: object): string =>
  `id: ${id}\ndata: ${JSON.stringify(data)}\n\n`;

describe('SSEParser', () => {
  it('parses events split anywhere across chunks', () => {
    const parser = new SSEParser();
    const text =
      ev('1-1', { type: 'start' }) + ev('1-2', { type: 'text', delta: 'hi' });
    const out = [];
    for (const ch of text) {
      out.push(...parser.feed(ch));
    }
    expect(out.map(m => [m.id, JSON.parse(m.data).type])).toEqual([
      ['1-1', 'start'],
      ['1-2', 'text']
    ]);
    expect(parser.lastEventId).toBe('1-2');
  });

  it('ignores keepalive comments and handles CRLF', () => {
    const parser = new SSEParser();
    const out = parser.feed(
      ': keepalive\r\n\r\nid: 2-5\r\ndata: {"type":"text",\r\ndata: "delta":"x"}\r\n\r\n: keepalive\n\n'
    );
    expect(out).toHaveLength(1);
    expect(out[0].id).toBe('2-5');
    expect(JSON.parse(out[0].data)).toEqual({ type: 'text', delta: 'x' });
  });

  it('keeps the last id for events without one', () => {
    const parser = new SSEParser();
    const out = parser.feed('id: 3-1\ndata: a\n\ndata: b\n\n');
    expect(out.map(m => m.id)).toEqual(['3-1', '3-1']);
  });

  it('ignores an id with a NUL in it, as the spec says', () => {
    const parser = new SSEParser();
    const out = parser.feed('id: 4-1\ndata: a\n\nid: 4-\u00002\ndata: b\n\n');
    expect(out.map(m => m.id)).toEqual(['4-1', '4-1']);
  });

  it('handles a CR line end split from its LF', () => {
    const parser = new SSEParser();
    const out = [
      ...parser.feed('data: x\r'),
      ...parser.feed('\n\r'),
      ...parser.feed('\n')
    ];
    expect(out.map(m => m.data)).toEqual(['x']);
  });
});

describe('followTurn', () => {
  const noWait = async () => undefined;

  it('reads every event to done and reports the last id', async () => {
    const seen: string[] = [];
    const result = await followTurn(
      body([
        ev('1-1', { type: 'start' }),
        ': keepalive\n\n',
        ev('1-2', { type: 'text', delta: 'Hel' }) +
          ev('1-3', { type: 'text', delta: 'lo' }),
        ev('1-4', { type: 'done', stop_reason: 'end_turn' })
      ]),
      {
        reattach: async () => {
          throw new Error('must not re-attach');
        },
        onEvent: (e, id) => seen.push(`${id}:${e.type}`),
        wait: noWait
      }
    );
    expect(result).toEqual({ outcome: 'done', lastEventId: '1-4' });
    expect(seen).toEqual(['1-1:start', '1-2:text', '1-3:text', '1-4:done']);
  });

  it('re-attaches with Last-Event-ID after a network drop and loses nothing', async () => {
    const seen: string[] = [];
    const asked: (string | null)[] = [];
    const reconnecting: number[] = [];
    const result = await followTurn(
      body(
        [ev('2-1', { type: 'start' }), ev('2-2', { type: 'text', delta: 'a' })],
        true
      ),
      {
        reattach: async last => {
          asked.push(last);
          if (asked.length === 1) {
            throw new TypeError('Failed to fetch'); // still offline once
          }
          return body([
            ev('2-3', { type: 'text', delta: 'b' }),
            ev('2-4', { type: 'done', stop_reason: 'end_turn' })
          ]);
        },
        onEvent: (e, id) => seen.push(`${id}`),
        onReconnecting: n => reconnecting.push(n),
        wait: noWait
      }
    );
    expect(asked).toEqual(['2-2', '2-2']);
    expect(seen).toEqual(['2-1', '2-2', '2-3', '2-4']);
    expect(result.outcome).toBe('done');
    expect(reconnecting.length).toBe(2);
  });

  it('re-attaches when the body ends before done', async () => {
    const asked: (string | null)[] = [];
    await followTurn(body([ev('1-1', { type: 'start' })]), {
      reattach: async last => {
        asked.push(last);
        return body([ev('1-2', { type: 'done' })]);
      },
      onEvent: () => undefined,
      wait: noWait
    });
    expect(asked).toEqual(['1-1']);
  });

  it('tells each event the one before it on its connection', async () => {
    // what a joined event stands for: the pieces after its predecessor
    const seen: string[] = [];
    await followTurn(body([ev('3-5', { type: 'text', delta: 'ab' })], true), {
      lastEventId: '3-2', // a re-attach after 3-2
      reattach: async () =>
        body([
          ev('3-7', { type: 'text', delta: 'cd' }),
          ev('3-8', { type: 'done' })
        ]),
      onEvent: (e, id, prev) => seen.push(`${prev}..${id}`),
      wait: noWait
    });
    expect(seen).toEqual(['3-2..3-5', '3-5..3-7', '3-7..3-8']);
  });

  it('gives up with the server error when the turn is gone', async () => {
    await expect(
      followTurn(body([ev('1-1', { type: 'start' })]), {
        reattach: async () =>
          new Response(JSON.stringify({ error: 'No chat turn has run' }), {
            status: 404
          }),
        onEvent: () => undefined,
        wait: noWait
      })
    ).rejects.toEqual(expect.any(StreamError));
  });

  it('waits 1 s, 2 s, 4 s between failed re-attach attempts and then stops', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(1); // the top of each jittered wait
    const waits: number[] = [];
    await expect(
      followTurn(body([], true), {
        reattach: async () => {
          throw new TypeError('offline');
        },
        onEvent: () => undefined,
        wait: async ms => {
          waits.push(ms);
        },
        maxAttempts: 4
      })
    ).rejects.toThrow('could not be restored');
    expect(waits).toEqual([1000, 2000, 4000, 8000]);
    jest.restoreAllMocks();
  });

  it("waits as long as a 503's Retry-After asks before re-attaching", async () => {
    const waits: number[] = [];
    const busy = new Response('{}', {
      status: 503,
      headers: { 'Retry-After': '30' }
    });
    const answers = [busy, body([ev('1-2', { type: 'done' })])];
    const result = await followTurn(
      body([ev('1-1', { type: 'start' })], true),
      {
        reattach: async () => answers.shift()!,
        onEvent: () => undefined,
        wait: async ms => {
          waits.push(ms);
        }
      }
    );
    expect(result).toEqual({ outcome: 'done', lastEventId: '1-2' });
    expect(waits[0]).toBeLessThanOrEqual(1000); // the drop: about 1 s
    expect(waits[1]).toBe(30_000); // the 503 said 30 s
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await followTurn(body([ev('1-1', { type: 'start' })]), {
      reattach: async () => body([]),
      onEvent: () => undefined,
      signal: controller.signal,
      wait: noWait
    });
    expect(result.outcome).toBe('aborted');
  });
});
