/**
 * The event applier (issue #19): whatever the readers deliver, twice, joined or replayed,
 * the person sees their message and the answer exactly once, and after the turn exactly
 * what is stored.
 */
import {
  addUserMessage,
  ChatItem,
  emptyChat,
  IChatState,
  IHistoryRow,
  IStreamEvent
} from '../chat';
import { applyEvents } from '../events';
import { keepPending, mergeHistory, settleTurn } from '../history';
import {
  resumeState,
  shouldReattach,
  snapshotOf,
  TurnReaders
} from '../reattach';
import { followTurn, IChatEvent } from '../sse';

const WORDS = Array.from({ length: 60 }, (_, i) => `w${i} `);
const ANSWER = WORDS.join('');

/** What a person reads: one line per item. */
function shown(state: IChatState): string[] {
  return state.items.map(item => {
    switch (item.kind) {
      case 'user':
        return `You: ${item.text}`;
      case 'assistant':
        return `Claude: ${item.text}`;
      case 'usage':
        return `usage: ${item.usage.output_tokens}`;
      case 'tool':
        return `tool: ${item.name} ${item.result ?? '…'}`;
      case 'approval':
        return `approval: ${item.tool} ${item.status}`;
      default:
        return `${item.kind}`;
    }
  });
}

const START: IChatEvent = { type: 'start', turn_id: 't1', turn: 1 };
const USAGE: IChatEvent = { type: 'usage', usage: { output_tokens: 60 } };
const DONE: IChatEvent = { type: 'done', stop_reason: 'end_turn' };

/** The turn as the server numbers it: 1 start, 2..61 the words, 62 usage, 63 done. */
const TURN: IChatEvent[] = [
  START,
  ...WORDS.map(delta => ({ type: 'text', delta })),
  USAGE,
  DONE
];

/** One connection's events after `after`, joining text pieces in batches of `join`. */
function connection(turn: number, after: number, join = 1): IStreamEvent[] {
  const out: IStreamEvent[] = [];
  let prev: string | null = after ? `${turn}-${after}` : null;
  let seq = after + 1;
  while (seq <= TURN.length) {
    let data = TURN[seq - 1];
    let last = seq;
    while (
      data.type === 'text' &&
      last - seq + 1 < join &&
      TURN[last]?.type === 'text'
    ) {
      data = { type: 'text', delta: data.delta + TURN[last].delta };
      last += 1;
    }
    const id = `${turn}-${last}`;
    out.push({ data, id, prev });
    prev = id;
    seq = last + 1;
  }
  return out;
}

const EXPECTED = ['You: Count', `Claude: ${ANSWER}`, 'usage: 60'];

const sent = (): IChatState => addUserMessage(emptyChat(), 'Count');

describe('applying events is idempotent', () => {
  it('ignores pieces applied already: the answer once', () => {
    const events = connection(1, 0);
    let state = applyEvents(sent(), events.slice(0, 20));
    state = applyEvents(state, events.slice(10, 30)); // 10 repeated pieces
    state = applyEvents(state, events.slice(0, 5)); // the start again
    state = applyEvents(state, events.slice(25));
    expect(shown(state)).toEqual(EXPECTED);
    expect(state.running).toBe(false);
  });

  it('adds only the new part of a joined event that overlaps single pieces', () => {
    const singles = connection(1, 0);
    const joined = connection(1, 1, 7); // 2..8, 9..15, ...
    let state = applyEvents(sent(), singles.slice(0, 5)); // start, w0..w3
    state = applyEvents(state, joined.slice(0, 3)); // w0..w20, joined
    expect(shown(state)[1]).toBe(`Claude: ${WORDS.slice(0, 21).join('')}`);
    state = applyEvents(state, singles.slice(5, 20)); // w4..w18 singly
    state = applyEvents(state, joined.slice(3));
    state = applyEvents(state, singles.slice(20));
    expect(shown(state)).toEqual(EXPECTED);
  });

  it('handles a joined event that begins inside another joined one', () => {
    const byFive = connection(1, 1, 5); // 2..6, 7..11, ...
    const byThree = connection(1, 1, 3); // 2..4, 5..7, ...
    let state = applyEvents(sent(), [{ data: START, id: '1-1', prev: null }]);
    state = applyEvents(state, byFive.slice(0, 2)); // w0..w9
    state = applyEvents(state, byThree.slice(0, 4)); // up to w11: begins at w3
    state = applyEvents(state, byFive.slice(2));
    expect(shown(state)).toEqual(EXPECTED);
  });

  it('a replay from an older Last-Event-ID adds nothing twice', () => {
    let state = applyEvents(sent(), connection(1, 0).slice(0, 40));
    state = applyEvents(state, connection(1, 12, 100)); // a replayed batch, joined
    expect(shown(state)).toEqual(EXPECTED);
    // and a replay of the whole turn after it ended changes nothing at all
    expect(applyEvents(state, connection(1, 0, 100))).toBe(state);
  });

  it('ignores an older turn replayed into a newer one', () => {
    let state = applyEvents(sent(), connection(1, 0));
    state = addUserMessage(state, 'Again');
    const second = connection(2, 0).map(e =>
      e.data.type === 'start'
        ? { ...e, data: { ...e.data, turn_id: 't2', turn: 2 } }
        : e
    );
    state = applyEvents(state, second.slice(0, 30));
    state = applyEvents(state, connection(1, 50)); // turn 1's tail, late
    state = applyEvents(state, second.slice(30));
    expect(shown(state)).toEqual([
      ...EXPECTED,
      'You: Again',
      ...EXPECTED.slice(1)
    ]);
  });

  it('two readers of one turn, interleaved: the answer exactly once', async () => {
    const encoder = new TextEncoder();
    const sse = (events: IStreamEvent[]) =>
      new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            const next = events.shift();
            await new Promise(r => setTimeout(r, 0));
            if (next) {
              controller.enqueue(
                encoder.encode(
                  `id: ${next.id}\ndata: ${JSON.stringify(next.data)}\n\n`
                )
              );
            } else {
              controller.close();
            }
          }
        }),
        { status: 200 }
      );
    let state = sent();
    const apply = (data: IChatEvent, id: string | null, prev: string | null) =>
      (state = applyEvents(state, [{ data, id, prev }]));
    const options = {
      reattach: async () => {
        throw new Error('no drop here');
      },
      onEvent: apply
    };
    await Promise.all([
      followTurn(sse(connection(1, 0, 1)), options), // the POST's stream
      followTurn(sse(connection(1, 1, 4)), { ...options, lastEventId: '1-1' }) // a re-attach
    ]);
    expect(shown(state)).toEqual(EXPECTED);
  });
});

const row = (
  seq: number,
  turn: string,
  role: string,
  content: object
): IHistoryRow => ({ seq, turn_id: turn, role, content });

const STORED: IHistoryRow[] = [
  row(1, 't1', 'user', { text: 'Count' }),
  row(2, 't1', 'assistant', { text: ANSWER }),
  row(3, 't1', 'usage', { usage: { output_tokens: 60 } })
];

describe('history and what is on screen', () => {
  it('history read before the send keeps the message and the live answer', () => {
    let state = applyEvents(sent(), connection(1, 0).slice(0, 10));
    state = mergeHistory(state, []); // GET messages answered before the POST
    state = applyEvents(state, connection(1, 0).slice(10));
    expect(shown(state)).toEqual(EXPECTED);
  });

  it('history read during the turn does not show the message twice', () => {
    let state = sent(); // the start not applied yet, the message stored already
    state = mergeHistory(state, STORED.slice(0, 1));
    expect(shown(state)).toEqual(['You: Count']);
    state = applyEvents(state, connection(1, 0));
    expect(shown(state)).toEqual(EXPECTED);
  });

  it('adds the earlier turns above what is on screen', () => {
    const earlier = [
      row(1, 't0', 'user', { text: 'Hi' }),
      row(2, 't0', 'assistant', { text: 'Hello' })
    ];
    let state = applyEvents(sent(), connection(1, 0).slice(0, 30));
    state = mergeHistory(state, [...earlier, STORED[0]]);
    state = applyEvents(state, connection(1, 0));
    expect(shown(state)).toEqual(['You: Hi', 'Claude: Hello', ...EXPECTED]);
    expect(mergeHistory(state, [...earlier, ...STORED])).toBe(state);
  });

  it('after the turn, a turn shown right stays as it is', () => {
    const state = applyEvents(sent(), connection(1, 0));
    expect(settleTurn(state, STORED, state.turnId)).toBe(state);
  });

  it('after the turn, what is shown becomes what is stored', () => {
    // a doubled answer, as two uncoordinated readers used to render it
    let state = applyEvents(sent(), connection(1, 0));
    state = {
      ...state,
      items: state.items.map(item =>
        item.kind === 'assistant' ? { ...item, text: item.text + 'w0 ' } : item
      )
    };
    const settled = settleTurn(state, STORED, state.turnId);
    expect(shown(settled)).toEqual(EXPECTED);
  });

  it('settles a finished turn even when the next one already runs', () => {
    let state = applyEvents(sent(), connection(1, 0));
    state = {
      ...state,
      items: state.items.map(item =>
        item.kind === 'assistant' ? { ...item, text: 'doubled' } : item
      )
    };
    state = addUserMessage(state, 'Again');
    state = applyEvents(state, [
      { data: { type: 'start', turn_id: 't2' }, id: '2-1', prev: null }
    ]);
    const settled = settleTurn(state, STORED, 't1');
    expect(shown(settled)).toEqual([...EXPECTED, 'You: Again']);
    expect(settleTurn(settled, STORED, 't2')).toBe(settled); // t2 still streams
  });

  it('keeps the approval card beside its tool when the stored turn replaces the shown one', () => {
    const events: IChatEvent[] = [
      START,
      { type: 'tool_use', id: 'x', name: 'Bash', input: { command: 'ls' } },
      {
        type: 'approval_request',
        request_id: 'r',
        tool: 'Bash',
        input: { command: 'ls' },
        tool_use_id: 'x'
      },
      { type: 'tool_result', tool_use_id: 'x', content: 'a', is_error: false },
      { type: 'text', delta: 'Done.' },
      DONE
    ];
    let state = applyEvents(
      sent(),
      events.map((data, i) => ({ data, id: `1-${i + 1}` }))
    );
    const stored = [
      row(1, 't1', 'user', { text: 'Count' }),
      row(2, 't1', 'tool_use', {
        id: 'x',
        name: 'Bash',
        input: { command: 'ls' }
      }),
      row(3, 't1', 'tool_result', { tool_use_id: 'x', content: 'a' }),
      row(4, 't1', 'assistant', { text: 'Done. And more.' })
    ];
    state = settleTurn(state, stored, state.turnId);
    expect(shown(state)).toEqual([
      'You: Count',
      'tool: Bash a',
      'approval: Bash allowed',
      'Claude: Done. And more.'
    ]);
  });

  it('keeps a message no turn has taken (e.g. refused by the quota) in its place', () => {
    let state = applyEvents(sent(), connection(1, 0));
    state = addUserMessage(state, 'One more');
    const pending = state.items[state.items.length - 1] as ChatItem;
    const resumed = keepPending({ ...emptyChat(), items: [] }, state);
    expect(resumed.items).toEqual([pending]);
  });
});

describe('a turn waiting for a Claude process', () => {
  /** The turn with two `queued` events (places 2, then 1) between its start and answer. */
  function waited(): IStreamEvent[] {
    const events: IChatEvent[] = [
      START,
      { type: 'queued', position: 2 },
      { type: 'queued', position: 1 },
      ...TURN.slice(1)
    ];
    return events.map((data, i) => ({
      data,
      id: `1-${i + 1}`,
      prev: i ? `1-${i}` : null
    }));
  }

  it('says its place in line until the answer starts, then only the answer shows', () => {
    const events = waited();
    let state = applyEvents(sent(), events.slice(0, 2));
    expect(state.running).toBe(true);
    expect(state.queued).toBe(2);
    state = applyEvents(state, events.slice(2, 3));
    expect(state.queued).toBe(1);
    expect(shown(state)).toEqual(['You: Count']); // no item: the working line says it
    state = applyEvents(state, events.slice(3, 4)); // the first word
    expect(state.queued).toBeNull();
    state = applyEvents(state, events.slice(1, 3)); // a replay of the line: old news
    expect(state.queued).toBeNull();
    state = applyEvents(state, events.slice(4));
    expect(shown(state)).toEqual(EXPECTED);
    expect(state.queued).toBeNull();
  });

  it('a cancel while in line ends the turn and clears the line', () => {
    const events = waited().slice(0, 2);
    let state = applyEvents(sent(), events);
    state = applyEvents(state, [
      {
        data: { type: 'done', stop_reason: 'cancelled' },
        id: '1-3',
        prev: '1-2'
      }
    ]);
    expect(state.queued).toBeNull();
    expect(state.running).toBe(false);
    expect(shown(state)).toEqual(['You: Count', 'notice']);
  });

  it('a reload while in line resumes saying so', () => {
    const state = applyEvents(sent(), waited().slice(0, 3));
    const resumed = resumeState([], snapshotOf(state));
    expect(resumed.queued).toBe(1);
    expect(resumed.running).toBe(true);
  });
});

describe('one reader per turn', () => {
  it('re-attaches only when the server runs a turn and no stream is read here', () => {
    const readers = new TurnReaders();
    expect(shouldReattach(readers, 'connected')).toBe(true);
    expect(shouldReattach(readers, 'active')).toBe(false);
    const release = readers.claim(); // a message sent while the history loaded
    expect(shouldReattach(readers, 'connected')).toBe(false);
    release();
    release(); // twice is once
    expect(readers.reading).toBe(false);
    expect(shouldReattach(readers, 'connected')).toBe(true);
  });
});
