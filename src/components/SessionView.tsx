import React, { useRef, useState } from 'react';

import { ConnectionsView } from './ConnectionsView';
import { IPanelContext, Tab } from '../context';
import { ISession } from '../format';
import { SessionTitle } from './SessionTitle';
import { ChangesView } from './ChangesView';
import { ChatView } from './ChatView';
import { SessionActions } from './SessionActions';
import { TerminalView } from './TerminalView';
import { useTrans } from '../translation';

const TABS: Tab[] = ['chat', 'changes', 'terminal', 'connections'];

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
  const trans = useTrans();
  const labels: { [id in Tab]: string } = {
    chat: trans.__('Chat'),
    changes: trans.__('Changes'),
    terminal: trans.__('Terminal'),
    connections: trans.__('Connections')
  };
  const [turns, setTurns] = useState(0); // finished turns: the changes may be new
  const [rewinds, setRewinds] = useState(0); // the chat is read afresh after a rewind
  const tabRefs = useRef<{ [id: string]: HTMLButtonElement | null }>({});

  const onKeyDown = (event: React.KeyboardEvent) => {
    const index = TABS.indexOf(tab);
    let next = -1;
    if (event.key === 'ArrowRight') {
      next = (index + 1) % TABS.length;
    } else if (event.key === 'ArrowLeft') {
      next = (index + TABS.length - 1) % TABS.length;
    }
    if (next >= 0) {
      event.preventDefault();
      props.setTab(TABS[next]);
      tabRefs.current[TABS[next]]?.focus();
    }
  };

  return (
    <div className="jp-lawless-session">
      <div className="jp-lawless-sessionbar">
        <button
          className="jp-lawless-linkbutton"
          onClick={props.onBack}
          aria-label={trans.__('Back to the list of sessions')}
        >
          {trans.__('‹ Sessions')}
        </button>
        <SessionTitle session={session} />
      </div>
      <SessionActions app={props.ctx.app} session={session} />
      <div
        className="jp-lawless-tabs"
        role="tablist"
        aria-label={trans.__('Session views')}
        onKeyDown={onKeyDown}
      >
        {TABS.map(t => (
          <button
            key={t}
            ref={el => (tabRefs.current[t] = el)}
            role="tab"
            id={`jp-lawless-tab-${t}`}
            aria-selected={tab === t}
            aria-controls={`jp-lawless-tabpanel-${t}`}
            tabIndex={tab === t ? 0 : -1}
            className={`jp-lawless-tab${tab === t ? ' jp-mod-current' : ''}`}
            onClick={() => props.setTab(t)}
          >
            {labels[t]}
          </button>
        ))}
      </div>
      {TABS.map(t => (
        <div
          key={t}
          role="tabpanel"
          id={`jp-lawless-tabpanel-${t}`}
          aria-labelledby={`jp-lawless-tab-${t}`}
          className="jp-lawless-tabpanel"
          hidden={tab !== t}
        >
          {t === 'chat' && (
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
          {t === 'changes' && (
            <ChangesView
              key={session.id}
              ctx={props.ctx}
              session={session}
              active={tab === 'changes'}
              turns={turns}
            />
          )}
          {t === 'terminal' && (
            <TerminalView ctx={props.ctx} session={session} />
          )}
          {t === 'connections' && <ConnectionsView />}
        </div>
      ))}
    </div>
  );
}
