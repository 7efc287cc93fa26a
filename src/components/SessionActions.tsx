/**
 * The sidebar's buttons for the open session: its chat in the main area (beside a
 * notebook), its worktree in the file browser.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import React from 'react';

import { OPEN_CHAT, OPEN_WORKTREE } from '../chatTabs';
import { ISession } from '../format';

export function SessionActions(props: {
  app: JupyterFrontEnd;
  session: ISession;
}): JSX.Element {
  const { app, session } = props;
  return (
    <div className="jp-lawless-sessionactions">
      <button
        className="jp-lawless-linkbutton"
        onClick={() =>
          void app.commands.execute(OPEN_CHAT, { session: session.id })
        }
        title="Open this chat as a tab in the main area"
      >
        Open in main area
      </button>
      <button
        className="jp-lawless-linkbutton"
        onClick={() =>
          void app.commands.execute(OPEN_WORKTREE, { session: session.id })
        }
        title="Show the worktree in the file browser"
      >
        Open worktree
      </button>
    </div>
  );
}
