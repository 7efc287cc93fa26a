/**
 * The left sidebar panel: sessions, and for the open session its chat, changes, terminal.
 * The views are in components/, their state in hooks/.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';

import { SessionsView } from './components/SessionsView';
import { SessionView } from './components/SessionView';
import { IPanelContext } from './context';
import { useSessions } from './hooks/useSessions';
import { TranslationContext, useTrans } from './translation';

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
    return (
      <TranslationContext.Provider value={this.ctx.trans}>
        <Panel ctx={this.ctx} />
      </TranslationContext.Provider>
    );
  }
}

function Panel({ ctx }: { ctx: IPanelContext }): JSX.Element {
  const { sessions, listError, open, tab, setTab, setOpenId, refresh } =
    useSessions(ctx);
  const trans = useTrans();

  return (
    <div className="jp-lawless-root">
      {/* a div, not <header>: a banner landmark belongs to the page, not to a sidebar */}
      <div className="jp-lawless-header">
        <h2>{trans.__('Lawless')}</h2>
      </div>
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
          onOpenSession={id => {
            void refresh().then(() => {
              setOpenId(id);
              setTab('chat');
            });
          }}
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
