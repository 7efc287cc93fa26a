/**
 * Opening a session's chat (hooks/useChatStream.ts `openChat`): the first message sent
 * while the history loads stays on screen and is read by one stream only (issue #19).
 */
jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: '/' }),
    makeRequest: jest.fn()
  }
}));
jest.mock('@jupyterlab/coreutils', () => ({
  URLExt: { join: (...parts: string[]) => parts.join('/') }
}));

import { addUserMessage, emptyChat, IChatState, IHistoryRow } from '../chat';
import { applyEvents } from '../events';
import { openChat } from '../hooks/useChatStream';
import { IStorageLike, TurnKeeper, TurnReaders } from '../reattach';

class MemoryStorage implements IStorageLike {
  values = new Map<string, string>();
  getItem = (key: string) => this.values.get(key) ?? null;
  setItem = (key: string, value: string) => void this.values.set(key, value);
  removeItem = (key: string) => void this.values.delete(key);
}

/** A promise the test resolves when it wants. */
function later<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>(r => (resolve = r));
  return { promise, resolve };
}

const texts = (state: IChatState) =>
  state.items.map(i => `${i.kind}:${'text' in i ? i.text : ''}`);

function setup() {
  let state = emptyChat();
  const readers = new TurnReaders();
  const storage = new MemoryStorage();
  const keeper = new TurnKeeper(storage, 's1', () => 0, 0);
  const history = later<IHistoryRow[]>();
  const sessionState = later<string>();
  const reattached: (string | null)[] = [];
  const opened = openChat({
    signal: new AbortController().signal,
    readers,
    keeper,
    history: () => history.promise,
    sessionState: () => sessionState.promise,
    update: fn => (state = fn(state)),
    reattach: async saved => {
      reattached.push(saved?.lastEventId ?? null);
    }
  });
  return {
    get state() {
      return state;
    },
    set state(value: IChatState) {
      state = value;
    },
    readers,
    keeper,
    storage,
    history,
    sessionState,
    reattached,
    opened
  };
}

describe('opening a chat', () => {
  it('a first message sent while the history loads stays, and nothing re-attaches', async () => {
    const chat = setup();
    // the person sends at once: the message shows, the POST's stream is read
    chat.state = addUserMessage(chat.state, 'Hello');
    const release = chat.readers.claim();
    chat.history.resolve([]); // read before the POST stored anything
    await Promise.resolve();
    chat.state = applyEvents(chat.state, [
      { data: { type: 'start', turn_id: 't1' }, id: '1-1', prev: null },
      { data: { type: 'text', delta: 'Hi ' }, id: '1-2', prev: '1-1' }
    ]);
    chat.keeper.update(chat.state); // the live stream saves its snapshot
    chat.sessionState.resolve('connected'); // our own turn runs
    expect(await chat.opened).toBe('merged');
    expect(chat.reattached).toEqual([]);
    expect(texts(chat.state)).toEqual(['user:Hello', 'assistant:Hi ']);
    release();
  });

  it('after a reload, a running turn is resumed after the last event kept', async () => {
    const chat = setup();
    const before = applyEvents(addUserMessage(emptyChat(), 'Count'), [
      { data: { type: 'start', turn_id: 't1' }, id: '1-1' },
      { data: { type: 'text', delta: 'one ' }, id: '1-2' }
    ]);
    chat.keeper.update(before); // saved by the page before the reload
    chat.history.resolve([
      { seq: 1, turn_id: 't1', role: 'user', content: { text: 'Count' } }
    ]);
    chat.sessionState.resolve('connected');
    expect(await chat.opened).toBe('reattached');
    expect(chat.reattached).toEqual(['1-2']);
    expect(texts(chat.state)).toEqual(['user:Count', 'assistant:one ']);
  });

  it('a turn that ended while no page followed it shows as stored', async () => {
    const chat = setup();
    chat.keeper.update(
      applyEvents(emptyChat(), [
        { data: { type: 'start', turn_id: 't1' }, id: '1-1' }
      ])
    );
    chat.history.resolve([
      { seq: 1, turn_id: 't1', role: 'user', content: { text: 'Count' } },
      { seq: 2, turn_id: 't1', role: 'assistant', content: { text: 'one' } }
    ]);
    chat.sessionState.resolve('active');
    expect(await chat.opened).toBe('merged');
    expect(chat.reattached).toEqual([]);
    expect(texts(chat.state)).toEqual(['user:Count', 'assistant:one']);
    expect(chat.storage.values.size).toBe(0); // the snapshot is gone
  });
});
