/**
 * The sidebar's buttons for the open session: its chat in the main area (beside a
 * notebook), its worktree in the file browser.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import React from 'react';

import { OPEN_CHAT, OPEN_WORKTREE } from '../chatTabs';
import { ISession } from '../format';
import { useTrans } from '../translation';

export function SessionActions(props: {
  app: JupyterFrontEnd;
  session: ISession;
}): JSX.Element {
  const { app, session } = props;
  const trans = useTrans();
  return (
    <div className="jp-lawless-sessionactions">
      <button
        className="jp-lawless-linkbutton"
        onClick={() =>
          void app.commands.execute(OPEN_CHAT, { session: session.id })
        }
        title={trans.__('Open this chat as a tab in the main area')}
      >
        {trans.__('Open in main area')}
      </button>
      <button
        className="jp-lawless-linkbutton"
        onClick={() =>
          void app.commands.execute(OPEN_WORKTREE, { session: session.id })
        }
        title={trans.__('Show the worktree in the file browser')}
      >
        {trans.__('Open worktree')}
      </button>
    </div>
  );
}
