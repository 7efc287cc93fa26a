import React, { useRef, useState } from 'react';

import { ConnectionsView } from './ConnectionsView';
import { IPanelContext, Tab } from '../context';
import { ISession, sessionLabel } from '../format';
import { ChangesView } from './ChangesView';
import { ChatView } from './ChatView';
import { SessionActions } from './SessionActions';
import { TerminalView } from './TerminalView';

const TABS: { id: Tab; label: string }[] = [
  { id: 'chat', label: 'Chat' },
  { id: 'changes', label: 'Changes' },
  { id: 'terminal', label: 'Terminal' },
  { id: 'connections', label: 'Connections' }
];

export function SessionView(props: {
  ctx: IPanelContext;
  session: ISession;
  tab: Tab;
  setTab: (tab: Tab) => void;
  onBack: () => void;
  onSessionChanged: () => void;
  /** Open another session (a fork just made). */
  onOpenSession: (id: string) => void;
}): JSX.Element {
  const { session, tab } = props;
  const [turns, setTurns] = useState(0); // finished turns: the changes may be new
  const [rewinds, setRewinds] = useState(0); // the chat is read afresh after a rewind
  const tabRefs = useRef<{ [id: string]: HTMLButtonElement | null }>({});

  const onKeyDown = (event: React.KeyboardEvent) => {
    const index = TABS.findIndex(t => t.id === tab);
    let next = -1;
    if (event.key === 'ArrowRight') {
      next = (index + 1) % TABS.length;
    } else if (event.key === 'ArrowLeft') {
      next = (index + TABS.length - 1) % TABS.length;
    }
    if (next >= 0) {
      event.preventDefault();
      props.setTab(TABS[next].id);
      tabRefs.current[TABS[next].id]?.focus();
    }
  };

  return (
    <div className="jp-lawless-session">
      <div className="jp-lawless-sessionbar">
        <button
          className="jp-lawless-linkbutton"
          onClick={props.onBack}
          aria-label="Back to the list of sessions"
        >
          ‹ Sessions
        </button>
        <div className="jp-lawless-sessiontitle" title={session.worktree_path}>
          <strong>{sessionLabel(session)}</strong>
          <span className="jp-lawless-muted">
            {' '}
            {session.branch} ← {session.base}
          </span>
        </div>
      </div>
      <SessionActions app={props.ctx.app} session={session} />
      <div
        className="jp-lawless-tabs"
        role="tablist"
        aria-label="Session views"
        onKeyDown={onKeyDown}
      >
        {TABS.map(t => (
          <button
            key={t.id}
            ref={el => (tabRefs.current[t.id] = el)}
            role="tab"
            id={`jp-lawless-tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`jp-lawless-tabpanel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            className={`jp-lawless-tab${tab === t.id ? ' jp-mod-current' : ''}`}
            onClick={() => props.setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      {TABS.map(t => (
        <div
          key={t.id}
          role="tabpanel"
          id={`jp-lawless-tabpanel-${t.id}`}
          aria-labelledby={`jp-lawless-tab-${t.id}`}
          className="jp-lawless-tabpanel"
          hidden={tab !== t.id}
        >
          {t.id === 'chat' && (
            <ChatView
              key={`${session.id}-${rewinds}`}
              ctx={props.ctx}
              session={session}
              onTurnDone={() => setTurns(n => n + 1)}
              onRewound={() => {
                setRewinds(n => n + 1);
                setTurns(n => n + 1);
              }}
              onForked={forked => props.onOpenSession(forked.id)}
            />
          )}
          {t.id === 'changes' && (
            <ChangesView
              key={session.id}
              ctx={props.ctx}
              session={session}
              active={tab === 'changes'}
              turns={turns}
            />
          )}
          {t.id === 'terminal' && (
            <TerminalView ctx={props.ctx} session={session} />
          )}
          {t.id === 'connections' && <ConnectionsView />}
        </div>
      ))}
    </div>
  );
}
