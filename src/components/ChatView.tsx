import React, { useEffect, useLayoutEffect, useRef, useState } from 'react';

import { IPanelContext } from '../context';
import { ISession, workingText } from '../format';
import { useChatStream } from '../hooks/useChatStream';
import { useSettings } from '../hooks/useSettings';
import { PermissionPicker } from '../permissions';
import { Item } from './ChatItem';
import { RememberedRules } from './RememberedRules';

/** The conversation with Claude in a session: the messages, and the box to write in. */
export function ChatView(props: {
  ctx: IPanelContext;
  session: ISession;
  onTurnDone: () => void;
}): JSX.Element {
  const { ctx, session } = props;
  const settings = useSettings(ctx.controller);
  const stream = useChatStream(session.id, ctx.controller, props.onTurnDone);
  const { chat, loading, busy, reconnecting, stop, answer } = stream;
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

  // Ctrl/Cmd+Enter is the `lawless:send` command's shortcut (schema/plugin.json: a person
  // may change it); plain Enter sends here when the setting says so
  const onKeyDown = (event: React.KeyboardEvent<HTMLTextAreaElement>) => {
    const plain = !(event.shiftKey || event.ctrlKey || event.metaKey);
    if (
      event.key === 'Enter' &&
      plain &&
      settings.enterToSend &&
      !event.nativeEvent.isComposing
    ) {
      event.preventDefault();
      void send();
    }
  };
  const sendLatest = useRef(send);
  sendLatest.current = send;
  const composer = useRef<HTMLTextAreaElement>(null);
  useEffect(
    () =>
      ctx.controller.on('send', () => {
        // the chat whose box has the focus, else the one on screen
        const box = composer.current;
        const focused = document.activeElement?.closest('.jp-lawless-composer');
        if (box && (focused ? focused.contains(box) : box.offsetParent)) {
          void sendLatest.current();
        }
      }),
    [ctx.controller]
  );

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
            {workingText(chat.queued, reconnecting)}
          </div>
        )}
      </div>
      <div className="jp-lawless-composer">
        <textarea
          ref={composer}
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
