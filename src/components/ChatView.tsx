import React, { useEffect, useLayoutEffect, useRef, useState } from 'react';

import { api, ApiError, attachTurn, sendMessage } from '../api';
import {
  addError,
  addUserMessage,
  answerApproval,
  applyEvents,
  ChatBatcher,
  emptyChat,
  fromHistory,
  IChatState,
  IHistoryRow,
  keepPending,
  mergeHistory,
  settleTurn
} from '../chat';
import { IPanelContext, message } from '../context';
import { ISession } from '../format';
import { useSettings } from '../hooks/useSettings';
import { PermissionPicker } from '../permissions';
import {
  continues,
  IStorageLike,
  resumeState,
  shouldReattach,
  TurnKeeper,
  TurnReaders
} from '../reattach';
import { FollowResult } from '../sse';
import { Item } from './ChatItem';

/** Every page of a session's stored history. */
async function loadHistory(sessionId: string): Promise<IHistoryRow[]> {
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

export function ChatView(props: {
  ctx: IPanelContext;
  session: ISession;
  onTurnDone: () => void;
}): JSX.Element {
  const { ctx, session } = props;
  const settings = useSettings(ctx.controller);
  const [chat, setChat] = useState<IChatState>(emptyChat);
  const [draft, setDraft] = useState('');
  const [loading, setLoading] = useState(true);
  const [sending, setSending] = useState(false);
  const [reconnecting, setReconnecting] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const list = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const batcher = useRef(
    new ChatBatcher(events => {
      setReconnecting(false);
      setChat(state => applyEvents(state, events));
    })
  );
  const busy = sending || chat.running;

  useEffect(() => {
    ctx.controller.running = busy;
    ctx.controller.emit('running');
  }, [busy]);

  const callbacks = () => ({
    onEvent: (event: any, id: string | null, prev: string | null) =>
      batcher.current.push(event, id, prev),
    onReconnecting: () => setReconnecting(true),
    signal: abort.current?.signal
  });

  // the running turn's rendered part, kept so a reload resumes after its last event
  const keeper = useRef<TurnKeeper | null>(null);
  useEffect(() => keeper.current?.update(chat), [chat]);

  // one reader per turn: a re-attach never starts beside a stream being read
  const readers = useRef(new TurnReaders());

  const runStream = async (start: () => Promise<FollowResult>) => {
    const release = readers.current.claim();
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
      batcher.current.flush();
      setReconnecting(false);
      setSending(false);
      setChat(state => ({ ...state, running: false }));
      if (!abort.current?.signal.aborted) {
        props.onTurnDone();
      }
    }
    if (ended && !abort.current?.signal.aborted) {
      // the turn is stored now: show exactly that (it usually is what streamed in)
      try {
        const rows = await loadHistory(session.id);
        if (!abort.current?.signal.aborted) {
          setChat(state => settleTurn(state, rows, state.turnId));
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
    keeper.current = new TurnKeeper(storage(), session.id);
    const save = () => keeper.current?.flush();
    window.addEventListener('pagehide', save);
    void (async () => {
      try {
        const rows = await loadHistory(session.id);
        if (signal.aborted) {
          return;
        }
        const history = fromHistory(rows);
        const { session: fresh } = await api.getSession(session.id);
        if (signal.aborted) {
          return;
        }
        if (!shouldReattach(readers.current, fresh.state)) {
          if (!readers.current.reading) {
            keeper.current?.clear(); // the turn ended while no page followed it
          }
          // a message sent meanwhile, and its answer streaming in, stay
          setChat(state => mergeHistory(state, rows));
          return;
        }
        // resume after the last event rendered before the reload, not from the start
        const saved = keeper.current?.load() ?? null;
        setChat(state => keepPending(resumeState(history, saved), state));
        setLoading(false);
        let first = true;
        const follow = callbacks();
        await runStream(() =>
          attachTurn(session.id, saved?.lastEventId ?? null, {
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
      } catch (error) {
        if (!signal.aborted) {
          setChat(state => addError(state, message(error)));
        }
      } finally {
        setLoading(false);
      }
    })();
    const off = ctx.controller.on('stop', () => void stop());
    return () => {
      off();
      window.removeEventListener('pagehide', save);
      save();
      abort.current?.abort();
    };
  }, [session.id]);

  // keep the newest at the bottom in view while the reader is at the bottom
  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [chat.items]);

  const send = async () => {
    const text = draft.trim();
    if (!text || busy || readers.current.reading) {
      return;
    }
    setDraft('');
    stick.current = true;
    setChat(state => addUserMessage(state, text));
    await runStream(() => sendMessage(session.id, text, callbacks()));
  };

  const stop = async () => {
    try {
      await api.cancel(session.id);
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
        session.id,
        requestId,
        allow ? 'allow' : 'deny',
        remember
      );
      setChat(state => answerApproval(state, requestId, allow, remember));
    } catch (error) {
      setChat(state => addError(state, message(error)));
    }
  };

  const onKeyDown = (event: React.KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key !== 'Enter' || event.nativeEvent.isComposing) {
      return;
    }
    const modifier = event.ctrlKey || event.metaKey;
    if (
      (settings.enterToSend && !event.shiftKey) ||
      (!settings.enterToSend && modifier)
    ) {
      event.preventDefault();
      void send();
    }
  };

  return (
    <div className="jp-lawless-chat">
      <div
        className="jp-lawless-messages"
        ref={list}
        role="log"
        aria-live="polite"
        aria-label="Conversation with Claude"
        aria-busy={busy}
        tabIndex={0}
        onScroll={() => {
          const el = list.current;
          if (el) {
            stick.current =
              el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          }
        }}
      >
        {loading && (
          <div className="jp-lawless-muted">Loading the conversation…</div>
        )}
        {!loading && chat.items.length === 0 && (
          <div className="jp-lawless-muted jp-lawless-empty">
            Ask Claude to do something in this worktree. Edits inside it are
            allowed; shell commands ask you first.
          </div>
        )}
        {chat.items.map(item => (
          <Item
            key={item.key}
            item={item}
            rendermime={ctx.rendermime}
            showThinking={settings.showThinking}
            onAnswer={answer}
          />
        ))}
        {busy && (
          <div className="jp-lawless-working" role="status">
            {reconnecting
              ? 'Connection lost, re-attaching…'
              : 'Claude is working…'}
          </div>
        )}
      </div>
      <div className="jp-lawless-composer">
        <textarea
          className="jp-mod-styled"
          value={draft}
          rows={3}
          placeholder={
            settings.enterToSend
              ? 'Message Claude (Enter sends, Shift+Enter: new line)'
              : 'Message Claude (Ctrl+Enter sends)'
          }
          aria-label="Message to Claude"
          onChange={e => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="jp-lawless-composer-buttons">
          <PermissionPicker
            disabled={busy}
            onError={text => setChat(state => addError(state, text))}
          />
          {busy ? (
            <button
              className="jp-mod-styled jp-mod-warn jp-lawless-button"
              onClick={() => void stop()}
              aria-label="Stop the running turn"
            >
              Stop
            </button>
          ) : (
            <button
              className="jp-mod-styled jp-mod-accept jp-lawless-button"
              onClick={() => void send()}
              disabled={!draft.trim()}
              aria-label="Send the message"
            >
              Send
            </button>
          )}
        </div>
      </div>
    </div>
  );
}
