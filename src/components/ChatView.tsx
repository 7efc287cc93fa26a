import { Dialog, showDialog } from '@jupyterlab/apputils';
import React, {
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState
} from 'react';

import { api } from '../api';
import { IPanelContext, message } from '../context';
import { ISession } from '../format';
import { useChatStream } from '../hooks/useChatStream';
import { useSettings } from '../hooks/useSettings';
import { PermissionPicker } from '../permissions';
import { ITurn, rewindQuestion, turnsById } from '../turns';
import { Item, ITurnActions } from './ChatItem';
import { RememberedRules } from './RememberedRules';

/** The conversation with Claude in a session: the messages, and the box to write in. */
export function ChatView(props: {
  ctx: IPanelContext;
  session: ISession;
  onTurnDone: () => void;
  /** After a rewind: the worktree and the conversation changed, read them again. */
  onRewound: () => void;
  /** After a fork: open the new session. */
  onForked: (session: ISession) => void;
}): JSX.Element {
  const { ctx, session } = props;
  const settings = useSettings(ctx.controller);
  const stream = useChatStream(session.id, ctx.controller, props.onTurnDone);
  const { chat, loading, busy, reconnecting, stop, answer } = stream;
  const [turns, setTurns] = useState<ITurn[]>([]);
  const [acting, setActing] = useState(false);

  // the turns (checkpoints) behind the user messages, read again after each turn
  useEffect(() => {
    if (busy) {
      return;
    }
    let current = true;
    api
      .turns(session.id)
      .then(body => current && setTurns(body.turns))
      .catch(() => undefined); // the menus wait for the next read
    return () => {
      current = false;
    };
  }, [session.id, busy]);
  const byId = useMemo(() => turnsById(turns), [turns]);

  const rewind = useCallback(
    async (turn: ITurn) => {
      const answer = await showDialog({
        title: `Rewind to before turn ${turn.number}?`,
        body: rewindQuestion(turn),
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Rewind' })]
      });
      if (!answer.button.accept) {
        return;
      }
      setActing(true);
      try {
        await api.rewind(session.id, turn.id);
        props.onRewound();
      } catch (error) {
        stream.addError(message(error));
      } finally {
        setActing(false);
      }
    },
    [session.id]
  );

  const fork = useCallback(
    async (turn: ITurn) => {
      setActing(true);
      try {
        const { session: forked } = await api.fork(session.id, {
          turn: turn.id
        });
        props.onForked(forked);
      } catch (error) {
        stream.addError(message(error));
        setActing(false);
      }
    },
    [session.id]
  );

  const turnActions: ITurnActions = useMemo(
    () => ({
      rewind: turn => void rewind(turn),
      fork: turn => void fork(turn),
      disabled: busy || acting
    }),
    [rewind, fork, busy, acting]
  );
  const [draft, setDraft] = useState('');
  const list = useRef<HTMLDivElement>(null);
  // the remembered rules are read again after each "Always allow"
  const answeredAlways = chat.items.filter(
    item => item.kind === 'approval' && item.remember
  ).length;
  const stick = useRef(true);

  // keep the newest at the bottom in view while the reader is at the bottom
  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [chat.items]);

  const send = async () => {
    const text = draft.trim();
    if (!text || !stream.canSend()) {
      return;
    }
    setDraft('');
    stick.current = true;
    await stream.send(text);
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
        {chat.items.map(item => {
          const turn = item.turnId ? byId.get(item.turnId) : undefined;
          const shown = (
            <Item
              key={item.key}
              item={item}
              rendermime={ctx.rendermime}
              showThinking={settings.showThinking}
              onAnswer={answer}
              turn={item.kind === 'user' ? (turn ?? null) : null}
              turnActions={turnActions}
            />
          );
          // a turn a rewind undid stays in the history, dimmed: Claude no longer sees it
          return turn?.rewound ? (
            <div key={item.key} className="jp-lawless-rewound">
              {shown}
            </div>
          ) : (
            shown
          );
        })}
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
          <PermissionPicker disabled={busy} onError={stream.addError} />
          <RememberedRules
            sessionId={session.id}
            refreshKey={answeredAlways}
            onError={stream.addError}
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
