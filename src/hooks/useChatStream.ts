/**
 * A session's chat: its history, the stream of a running turn and what the person does
 * (send, stop, answer an approval). One reader per turn; see docs/architecture.md, "The
 * panel (as built)".
 */
import { useEffect, useRef, useState } from 'react';

import { api, ApiError, attachTurn, sendMessage } from '../api';
import {
  addError,
  addUserMessage,
  answerApproval,
  ChatBatcher,
  emptyChat,
  ChatItem,
  fromHistory,
  IChatState,
  IHistoryRow
} from '../chat';
import { IAttachment } from '../attachments';
import { applyEvents } from '../events';
import { keepPending, mergeHistory, settleTurn } from '../history';
import { message, PanelController } from '../context';
import {
  continues,
  IRunningTurn,
  IStorageLike,
  resumeState,
  shouldReattach,
  TurnKeeper,
  TurnReaders
} from '../reattach';
import { FollowResult, IChatEvent } from '../sse';
import { pageTurns } from '../pageTurns';

/** Every page of a session's stored history. */
export async function loadHistory(sessionId: string): Promise<IHistoryRow[]> {
  const rows: IHistoryRow[] = [];
  let after = 0;
  for (;;) {
    const page = await api.messages(sessionId, after);
    rows.push(...page.messages);
    if (page.next_after === null || page.next_after === undefined) {
      return rows;
    }
    after = page.next_after;
  }
}

/** The browser's localStorage, or null where it is disabled. */
function storage(): IStorageLike | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export interface IOpenChat {
  signal: AbortSignal;
  readers: TurnReaders;
  keeper: TurnKeeper | null;
  /** `GET .../messages`, every page. */
  history: () => Promise<IHistoryRow[]>;
  /** The session's state now (`connected` while a turn runs). */
  sessionState: () => Promise<string>;
  update: (fn: (state: IChatState) => IChatState) => void;
  /** Re-attach to the running turn after `saved` (null: from the turn's start). */
  reattach: (saved: IRunningTurn | null, history: ChatItem[]) => Promise<void>;
}

/**
 * Opening a session's chat: the stored history, then, when a turn runs that no stream of
 * this page reads (a reload, another tab's turn), a re-attach after the last event kept.
 * A message sent while the history loaded is being read already: the history merges with
 * the screen and nothing re-attaches (issue #19).
 */
export async function openChat(
  o: IOpenChat
): Promise<'merged' | 'reattached' | 'aborted'> {
  const rows = await o.history();
  if (o.signal.aborted) {
    return 'aborted';
  }
  const state = await o.sessionState();
  if (o.signal.aborted) {
    return 'aborted';
  }
  if (!shouldReattach(o.readers, state)) {
    if (!o.readers.reading) {
      o.keeper?.clear(); // the turn ended while no page followed it
    }
    // a message sent meanwhile, and its answer streaming in, stay
    o.update(current => mergeHistory(current, rows));
    return 'merged';
  }
  // resume after the last event rendered before the reload, not from the start
  const history = fromHistory(rows);
  const saved = o.keeper?.load() ?? null;
  o.update(current => keepPending(resumeState(history, saved), current));
  await o.reattach(saved, history); // claims the stream at once: one reader
  return 'reattached';
}

export interface IChatStream {
  chat: IChatState;
  /** The history is being read. */
  loading: boolean;
  /** A turn runs or a message is on its way: no other send. */
  busy: boolean;
  /** The connection dropped and a re-attach is under way. */
  reconnecting: boolean;
  /** Whether a message may be sent now (no turn runs, no stream is read). */
  canSend: () => boolean;
  /** Send a message (ignored while busy); resolves when its turn is over. */
  send: (text: string, attachments?: IAttachment[]) => Promise<void>;
  stop: () => Promise<void>;
  answer: (
    requestId: string,
    allow: boolean,
    remember: boolean
  ) => Promise<void>;
  /** Show an error of the panel's own in the chat. */
  addError: (text: string) => void;
}

export function useChatStream(
  sessionId: string,
  controller: PanelController,
  onTurnDone: () => void,
  /** Sees every event as it arrives (live documents follow Claude's edits with it). */
  onEvent?: (event: IChatEvent) => void
): IChatStream {
  const [chat, setChat] = useState<IChatState>(emptyChat);
  const [loading, setLoading] = useState(true);
  const [sending, setSending] = useState(false);
  const [reconnecting, setReconnecting] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const batcher = useRef(
    new ChatBatcher(events => {
      setReconnecting(false);
      setChat(state => applyEvents(state, events));
    })
  );
  const busy = sending || chat.running;
  const eventListener = useRef(onEvent);
  eventListener.current = onEvent;

  useEffect(() => {
    controller.running = busy;
    controller.emit('running');
  }, [busy]);

  // the turn the stream being read belongs to (its `start`), to settle when it ends
  const streamTurn = useRef<string | null>(null);

  const callbacks = () => ({
    onEvent: (event: any, id: string | null, prev: string | null) => {
      if (event?.type === 'start') {
        streamTurn.current = event.turn_id ?? null;
      }
      batcher.current.push(event, id, prev);
      eventListener.current?.(event);
    },
    onReconnecting: () => setReconnecting(true),
    signal: abort.current?.signal
  });

  // the running turn's rendered part, kept so a reload resumes after its last event
  const keeper = useRef<TurnKeeper | null>(null);
  useEffect(() => keeper.current?.update(chat), [chat]);

  // one reader per turn: a re-attach never starts beside a stream being read
  const readers = useRef(new TurnReaders());

  // this viewer, among the page's viewers of the session (pageTurns.ts)
  const viewer = useRef({});

  const runStream = async (start: () => Promise<FollowResult>) => {
    const release = readers.current.claim();
    const releasePage = pageTurns.claim(sessionId);
    streamTurn.current = null;
    setSending(true);
    let ended = false;
    try {
      const { outcome } = await start();
      if (outcome === 'done') {
        keeper.current?.clear();
        ended = true;
      }
    } catch (error) {
      batcher.current.flush();
      if (!abort.current?.signal.aborted) {
        keeper.current?.clear();
        setChat(state => addError(state, message(error)));
      }
    } finally {
      release();
      releasePage();
      batcher.current.flush();
      setReconnecting(false);
      setSending(false);
      setChat(state => ({ ...state, running: false, queued: null }));
      if (!abort.current?.signal.aborted) {
        onTurnDone();
      }
    }
    if (ended && !abort.current?.signal.aborted) {
      // the turn is stored now: show exactly that (it usually is what streamed in)
      const finished = streamTurn.current; // the next turn may start meanwhile
      try {
        const rows = await loadHistory(sessionId);
        if (!abort.current?.signal.aborted) {
          setChat(state => settleTurn(state, rows, finished ?? state.turnId));
        }
      } catch {
        // what streamed in stays; the next load of the chat reads the history
      }
    }
  };

  // history, then re-attach to a turn that is still running (e.g. after a reload)
  useEffect(() => {
    abort.current = new AbortController();
    const signal = abort.current.signal;
    keeper.current = new TurnKeeper(storage(), sessionId);
    const save = () => keeper.current?.flush();
    window.addEventListener('pagehide', save);
    void (async () => {
      try {
        await openChat({
          signal,
          readers: readers.current,
          keeper: keeper.current,
          history: () => loadHistory(sessionId),
          sessionState: async () =>
            (await api.getSession(sessionId)).session.state,
          update: setChat,
          reattach: async (saved, history) => {
            setLoading(false);
            let first = true;
            const follow = callbacks();
            await runStream(() =>
              attachTurn(sessionId, saved?.lastEventId ?? null, {
                ...follow,
                onEvent: (event, id, prev) => {
                  if (first && saved && !continues(saved, id)) {
                    // another turn is replayed from its start: history has the saved one
                    setChat(state => ({
                      ...keepPending(resumeState(history, null), state),
                      running: true
                    }));
                  }
                  first = false;
                  follow.onEvent(event, id, prev);
                }
              })
            );
          }
        });
      } catch (error) {
        if (!signal.aborted) {
          setChat(state => addError(state, message(error)));
        }
      } finally {
        setLoading(false);
      }
    })();
    const off = controller.on('stop', () => void stop());
    // another viewer of this session on the page started a turn or answered a card
    const offPage = pageTurns.listen(sessionId, viewer.current, news => {
      if (news.type === 'answered') {
        setChat(state =>
          answerApproval(state, news.requestId, news.allow, news.remember)
        );
      } else if (!readers.current.reading && !signal.aborted) {
        setChat(state => addUserMessage(state, news.text, news.attachments));
        void runStream(() => attachTurn(sessionId, null, callbacks()));
      }
    });
    return () => {
      off();
      offPage();
      window.removeEventListener('pagehide', save);
      save();
      abort.current?.abort();
    };
  }, [sessionId]);

  const send = async (text: string, attachments: IAttachment[] = []) => {
    if (!text || busy || readers.current.reading || pageTurns.busy(sessionId)) {
      return;
    }
    const names = attachments.map(a => a.name);
    setChat(state => addUserMessage(state, text, names));
    const follow = callbacks();
    let told = false;
    await runStream(() =>
      sendMessage(
        sessionId,
        text,
        {
          ...follow,
          onEvent: (event, id, prev) => {
            follow.onEvent(event, id, prev);
            if (!told && event?.type === 'start') {
              told = true; // the turn is the server's latest now: others follow it
              pageTurns.tell(sessionId, viewer.current, {
                type: 'started',
                text,
                attachments: names
              });
            }
          }
        },
        attachments
      )
    );
  };

  const stop = async () => {
    try {
      await api.cancel(sessionId);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) {
        setChat(state => addError(state, message(error)));
      }
    }
  };

  const answer = async (
    requestId: string,
    allow: boolean,
    remember: boolean
  ) => {
    try {
      await api.answer(
        sessionId,
        requestId,
        allow ? 'allow' : 'deny',
        remember
      );
      setChat(state => answerApproval(state, requestId, allow, remember));
      pageTurns.tell(sessionId, viewer.current, {
        type: 'answered',
        requestId,
        allow,
        remember
      });
    } catch (error) {
      setChat(state => addError(state, message(error)));
    }
  };

  return {
    chat,
    loading,
    busy,
    reconnecting,
    canSend: () =>
      !busy && !readers.current.reading && !pageTurns.busy(sessionId),
    send,
    stop,
    answer,
    addError: (text: string) => setChat(state => addError(state, text))
  };
}
