import React, { useState } from 'react';

import { api } from '../api';
import { IPanelContext, message } from '../context';
import { ISession, remoteWorker } from '../format';
import { OPEN_REMOTE_TERMINAL } from '../remoteTerminalTabs';
import { useTrans } from '../translation';
import { Alerts } from './Alerts';

export function TerminalView(props: {
  ctx: IPanelContext;
  session: ISession;
}): JSX.Element {
  const { ctx, session } = props;
  const trans = useTrans();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // a session on a remote worker has its terminals there: its own route and websocket
  // bridge, never this server's terminal of the same name (another terminal)
  const remote = remoteWorker(session);

  const openTerminal = async () => {
    setBusy(true);
    setError(null);
    try {
      if (remote) {
        await ctx.app.commands.execute(OPEN_REMOTE_TERMINAL, {
          session: session.id
        });
      } else {
        const { terminal } = await api.createTerminal(session.id);
        await ctx.app.commands.execute('terminal:open', {
          name: terminal.name
        });
      }
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const openFolder = async () => {
    setError(null);
    try {
      if (ctx.browser && session.worktree_dir !== null) {
        await ctx.browser.model.cd('/' + session.worktree_dir);
        ctx.app.shell.activateById(ctx.browser.id);
      } else {
        await ctx.app.commands.execute('filebrowser:go-to-path', {
          path: '/' + session.worktree_dir
        });
      }
    } catch (e) {
      setError(message(e));
    }
  };

  return (
    <div className="jp-lawless-terminal">
      {remote ? (
        <p
          className="jp-lawless-notice"
          role="note"
          id="jp-lawless-remote-terminal"
        >
          {trans.__('This session runs on the worker')}{' '}
          <strong>{remote}</strong>
          {trans.__(
            ": its worktree and terminals are there. A terminal opens in the main area, connected to the worker through this server; the file browser shows this server's files, so it cannot show the worktree."
          )}
        </p>
      ) : (
        <p className="jp-lawless-muted">
          {trans.__(
            "A terminal that starts in this session's worktree, on its branch."
          )}
        </p>
      )}
      <button
        className="jp-mod-styled jp-mod-accept jp-lawless-button"
        onClick={() => void openTerminal()}
        disabled={busy}
        aria-describedby={remote ? 'jp-lawless-remote-terminal' : undefined}
      >
        {trans.__('Open a terminal')}
      </button>
      <button
        className="jp-mod-styled jp-lawless-button"
        onClick={() => void openFolder()}
        disabled={session.worktree_dir === null || remote !== null}
        aria-describedby={remote ? 'jp-lawless-remote-terminal' : undefined}
        title={
          session.worktree_dir === null
            ? trans.__('The worktree is outside the Jupyter root')
            : session.worktree_dir
        }
      >
        {trans.__('Show the worktree in the file browser')}
      </button>
      <p className="jp-lawless-muted">
        {trans.__('Worktree:')} <code>{session.worktree_path}</code>
      </p>
      <Alerts error={error} />
    </div>
  );
}
