import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import React, { useLayoutEffect, useRef } from 'react';

import { ChatItem } from '../chat';
import { useTrans } from '../translation';
import { IFileOpener } from '../openFile';
import { ITurn } from '../turns';
import { Item, ITurnActions } from './ChatItem';

/**
 * The conversation as a live log: each item (a turn the person rewound stays, dimmed:
 * Claude no longer sees it), what Claude is doing now, and the newest kept in view while
 * the reader is at the bottom (`stick`, set again by the chat when the person sends).
 */
export function MessageLog(props: {
  items: ChatItem[];
  loading: boolean;
  busy: boolean;
  /** What to say while a turn runs (queued, reconnecting, working). */
  working: string;
  stick: React.MutableRefObject<boolean>;
  turns: Map<string, ITurn>;
  turnActions: ITurnActions;
  rendermime: IRenderMimeRegistry;
  showThinking: boolean;
  onAnswer: (requestId: string, allow: boolean, remember: boolean) => void;
  files: IFileOpener;
}): JSX.Element {
  const { items, stick } = props;
  const trans = useTrans();
  const list = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [items]);

  return (
    <div
      className="jp-lawless-messages"
      ref={list}
      role="log"
      aria-live="polite"
      aria-label={trans.__('Conversation with Claude')}
      aria-busy={props.busy}
      tabIndex={0}
      onScroll={() => {
        const el = list.current;
        if (el) {
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }
      }}
    >
      {props.loading && (
        <div className="jp-lawless-muted">
          {trans.__('Loading the conversation…')}
        </div>
      )}
      {!props.loading && items.length === 0 && (
        <div className="jp-lawless-muted jp-lawless-empty">
          {trans.__(
            'Ask Claude to do something in this worktree. Edits inside it are allowed; shell commands ask you first.'
          )}
        </div>
      )}
      {items.map(item => {
        const turn = item.turnId ? props.turns.get(item.turnId) : undefined;
        const shown = (
          <Item
            key={item.key}
            item={item}
            rendermime={props.rendermime}
            showThinking={props.showThinking}
            onAnswer={props.onAnswer}
            turn={item.kind === 'user' ? (turn ?? null) : null}
            turnActions={props.turnActions}
            files={props.files}
          />
        );
        return turn?.rewound ? (
          <div key={item.key} className="jp-lawless-rewound">
            {shown}
          </div>
        ) : (
          shown
        );
      })}
      {props.busy && (
        <div className="jp-lawless-working" role="status">
          {props.working}
        </div>
      )}
    </div>
  );
}
