/**
 * The left sidebar panel: sessions, and for the open session its chat, changes, terminal.
 * The views are in components/, their state in hooks/.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useState } from 'react';

import { api } from './api';
import { SessionsView } from './components/SessionsView';
import { SessionView } from './components/SessionView';
import { IPanelContext, message, STATE_KEY, Tab } from './context';
import { ISession } from './format';

export {
  DEFAULT_SETTINGS,
  IPanelContext,
  IPanelSettings,
  PanelController,
  STATE_KEY
} from './context';

export class LawlessPanel extends ReactWidget {
  constructor(private readonly ctx: IPanelContext) {
    super();
    this.addClass('jp-lawless-panel');
  }

  render(): JSX.Element {
    return <Panel ctx={this.ctx} />;
  }
}

function Panel({ ctx }: { ctx: IPanelContext }): JSX.Element {
  const [sessions, setSessions] = useState<ISession[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [openId, setOpenId] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>('chat');
  const [restored, setRestored] = useState(false);

  const refresh = useCallback(async () => {
    try {
      const { sessions } = await api.listSessions();
      setSessions(sessions);
      setListError(null);
      return sessions;
    } catch (error) {
      setListError(message(error));
      return null;
    }
  }, []);

  useEffect(() => {
    void (async () => {
      const saved = (await ctx.state?.fetch(STATE_KEY).catch(() => null)) as {
        session?: string;
        tab?: Tab;
      } | null;
      const list = await refresh();
      if (saved?.session && list?.some(s => s.id === saved.session)) {
        setOpenId(saved.session);
        setTab(saved.tab ?? 'chat');
      }
      setRestored(true);
    })();
  }, []);

  useEffect(() => {
    if (restored) {
      void ctx.state
        ?.save(STATE_KEY, { session: openId, tab } as any)
        .catch(() => undefined);
    }
  }, [openId, tab, restored]);

  useEffect(
    () =>
      ctx.controller.on('newSession', () => {
        setOpenId(null);
        window.setTimeout(
          () => document.getElementById('jp-lawless-repo')?.focus(),
          0
        );
      }),
    []
  );

  const open = sessions?.find(s => s.id === openId) ?? null;

  return (
    <div className="jp-lawless-root">
      <header className="jp-lawless-header">
        <h2>Lawless</h2>
      </header>
      {open ? (
        <SessionView
          ctx={ctx}
          session={open}
          tab={tab}
          setTab={setTab}
          onBack={() => {
            setOpenId(null);
            void refresh();
          }}
          onSessionChanged={refresh}
        />
      ) : (
        <SessionsView
          ctx={ctx}
          sessions={sessions}
          error={listError}
          refresh={refresh}
          onOpen={id => {
            setOpenId(id);
            setTab('chat');
          }}
        />
      )}
    </div>
  );
}
