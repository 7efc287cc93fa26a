import React, { useState } from 'react';

import { api } from '../api';
import { IPanelContext, message } from '../context';
import { ISession, remoteWorker } from '../format';
import { Alerts } from './Alerts';

export function TerminalView(props: {
  ctx: IPanelContext;
  session: ISession;
}): JSX.Element {
  const { ctx, session } = props;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // JupyterLab's Terminal opens this server's terminals by name: a session on a remote
  // worker has its terminals there, and a local one of the same name is another terminal
  const remote = remoteWorker(session);

  const openTerminal = async () => {
    if (remote) {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { terminal } = await api.createTerminal(session.id);
      await ctx.app.commands.execute('terminal:open', { name: terminal.name });
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
          This session runs on the worker <strong>{remote}</strong>: its
          worktree and terminals are there, not on this server, so JupyterLab
          cannot open a terminal or show the folder here. Claude, Changes and
          the chat work as usual.
        </p>
      ) : (
        <p className="jp-lawless-muted">
          A terminal that starts in this session's worktree, on its branch.
        </p>
      )}
      <button
        className="jp-mod-styled jp-mod-accept jp-lawless-button"
        onClick={() => void openTerminal()}
        disabled={busy || remote !== null}
        aria-describedby={remote ? 'jp-lawless-remote-terminal' : undefined}
      >
        Open a terminal
      </button>
      <button
        className="jp-mod-styled jp-lawless-button"
        onClick={() => void openFolder()}
        disabled={session.worktree_dir === null || remote !== null}
        aria-describedby={remote ? 'jp-lawless-remote-terminal' : undefined}
        title={
          session.worktree_dir === null
            ? 'The worktree is outside the Jupyter root'
            : session.worktree_dir
        }
      >
        Show the worktree in the file browser
      </button>
      <p className="jp-lawless-muted">
        Worktree: <code>{session.worktree_path}</code>
      </p>
      <Alerts error={error} />
    </div>
  );
}
