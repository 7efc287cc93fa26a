import {
  addUserMessage,
  ChatItem,
  emptyChat,
  fromHistory,
  IChatState
} from '../chat';
import { applyEvents } from '../events';
import {
  continues,
  IStorageLike,
  resumeState,
  snapshotOf,
  storageKey,
  TurnKeeper
} from '../reattach';
import { IChatEvent } from '../sse';

class MemoryStorage implements IStorageLike {
  values = new Map<string, string>();
  writes = 0;
  getItem(key: string): string | null {
    return this.values.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.writes += 1;
    this.values.set(key, value);
  }
  removeItem(key: string): void {
    this.values.delete(key);
  }
}

/** Turn 2 of a conversation as the server numbers it: `2-1` (start) ... `2-n` (done). */
function turnEvents(
  words: string[]
): { data: IChatEvent; id: string | null }[] {
  const events: IChatEvent[] = [
    { type: 'start', turn_id: 'T2', turn: 2 },
    { type: 'tool_use', id: 'tu1', name: 'Bash', input: { command: 'ls' } },
    {
      type: 'tool_result',
      tool_use_id: 'tu1',
      content: 'a\nb',
      is_error: false
    },
    ...words.map(w => ({ type: 'text', delta: `${w} ` })),
    { type: 'usage', usage: { input_tokens: 5, output_tokens: 7 } },
    { type: 'done', stop_reason: 'end_turn' }
  ];
  return events.map((data, i) => ({ data, id: `2-${i + 1}` }));
}

/** What the store has while turn 2 runs: turn 1 whole, turn 2's message and tool use. */
const historyRows = [
  { seq: 1, turn_id: 'T1', role: 'user', content: { text: 'hi' } },
  { seq: 2, turn_id: 'T1', role: 'assistant', content: { text: 'Hello.' } },
  { seq: 3, turn_id: 'T2', role: 'user', content: { text: 'count' } },
  {
    seq: 4,
    turn_id: 'T2',
    role: 'tool_use',
    content: { id: 'tu1', name: 'Bash', input: { command: 'ls' } }
  },
  {
    seq: 5,
    turn_id: 'T2',
    role: 'tool_result',
    content: { tool_use_id: 'tu1', content: 'a\nb', is_error: false }
  }
];

const words = Array.from({ length: 20 }, (_, i) => `w${i}`);

function visible(items: ChatItem[]): any[] {
  return items.map(({ key, ...rest }) => rest);
}

function played(cut: number): {
  before: IChatState;
  all: ReturnType<typeof turnEvents>;
} {
  const all = turnEvents(words);
  let state = addUserMessage(
    { ...emptyChat(), items: fromHistory(historyRows.slice(0, 2)) },
    'count'
  );
  state = applyEvents(state, all.slice(0, cut));
  return { before: state, all };
}

describe('resuming a running turn', () => {
  it('continues from the last rendered event: every delta once', () => {
    const cut = 10; // start, tool use and result, seven words
    const { before, all } = played(cut);
    const saved = snapshotOf(before)!;
    expect(saved.lastEventId).toBe(`2-${cut}`);
    expect(saved.items.map(i => i.kind)).toEqual(['tool', 'assistant']);

    // the reload: history has no partial answer; the server sends what follows 2-10
    const resumed = resumeState(fromHistory(historyRows), saved);
    expect(resumed.running).toBe(true);
    const first = all[cut];
    expect(continues(saved, first.id)).toBe(true);
    const after = applyEvents(resumed, all.slice(cut));

    const uninterrupted = applyEvents(before, all.slice(cut));
    expect(visible(after.items)).toEqual(visible(uninterrupted.items));
    const answer = after.items.filter(i => i.kind === 'assistant').pop()!;
    expect(answer.kind === 'assistant' && answer.text).toBe(
      words.map(w => `${w} `).join('')
    );
    expect(after.items.filter(i => i.kind === 'tool')).toHaveLength(1);
    expect(after.running).toBe(false);
    expect(new Set(after.items.map(i => i.key)).size).toBe(after.items.length);
  });

  it('keeps the person’s message from history, once', () => {
    const { before } = played(6);
    const resumed = resumeState(fromHistory(historyRows), snapshotOf(before));
    expect(
      resumed.items.filter(i => i.kind === 'user').map(i => (i as any).text)
    ).toEqual(['hi', 'count']);
  });

  it('without a snapshot shows history and lets the replay rebuild the turn', () => {
    const resumed = resumeState(fromHistory(historyRows), null);
    expect(resumed.running).toBe(false);
    expect(resumed.lastEventId).toBeNull();
    const after = applyEvents(resumed, turnEvents(words));
    const answer = after.items.filter(i => i.kind === 'assistant').pop()!;
    expect((answer as any).text).toBe(words.map(w => `${w} `).join(''));
    expect(after.items.filter(i => i.kind === 'tool')).toHaveLength(1);
  });

  it('tells a continuation from a replay of another turn', () => {
    const saved = { turnId: 'T2', lastEventId: '2-10', items: [] };
    expect(continues(saved, '2-11')).toBe(true);
    expect(continues(saved, '3-1')).toBe(false); // a newer turn, from its start
    expect(continues(saved, '2-3')).toBe(false);
    expect(continues(saved, null)).toBe(false);
    expect(continues(null, '2-11')).toBe(false);
  });

  it('has nothing to keep before the turn started or after it ended', () => {
    expect(snapshotOf(emptyChat())).toBeNull();
    const { before, all } = played(3);
    expect(snapshotOf(before)).not.toBeNull();
    expect(snapshotOf(applyEvents(before, all.slice(3)))).toBeNull();
  });
});

describe('TurnKeeper', () => {
  it('saves at most every interval, and at once on flush', () => {
    const storage = new MemoryStorage();
    let clock = 1000;
    const keeper = new TurnKeeper(storage, 's1', () => clock, 500);
    const { all } = played(0);
    let state = addUserMessage(emptyChat(), 'count');
    for (let i = 0; i < 8; i++) {
      state = applyEvents(state, [all[i]]);
      keeper.update(state);
      clock += 100;
    }
    expect(storage.writes).toBe(2); // at 1000 ms and 1500 ms
    expect(keeper.load()!.lastEventId).toBe('2-6');
    keeper.flush(); // the page goes away
    expect(keeper.load()!.lastEventId).toBe('2-8');
    expect(new TurnKeeper(storage, 's1').load()!.items.length).toBe(2);
    expect(new TurnKeeper(storage, 'other').load()).toBeNull();
  });

  it('leaves the snapshot alone when a stream is aborted, drops it when done', () => {
    const storage = new MemoryStorage();
    const keeper = new TurnKeeper(storage, 's1', () => 0, 0);
    const { before } = played(5);
    keeper.update(before);
    keeper.update({ ...before, running: false }); // the reload aborted the stream
    keeper.flush();
    expect(keeper.load()!.lastEventId).toBe('2-5');
    keeper.clear();
    expect(storage.getItem(storageKey('s1'))).toBeNull();
    keeper.flush();
    expect(keeper.load()).toBeNull();
  });

  it('ignores what it cannot read, and works without storage', () => {
    const storage = new MemoryStorage();
    storage.setItem(storageKey('s1'), '{not json');
    expect(new TurnKeeper(storage, 's1').load()).toBeNull();
    storage.setItem(storageKey('s1'), JSON.stringify({ turnId: 3 }));
    expect(new TurnKeeper(storage, 's1').load()).toBeNull();
    const none = new TurnKeeper(null, 's1');
    none.update(played(5).before);
    none.flush();
    expect(none.load()).toBeNull();
  });
});
