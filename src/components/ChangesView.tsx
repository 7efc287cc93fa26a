import { Dialog, showDialog } from '@jupyterlab/apputils';
import React, { useCallback, useEffect, useState } from 'react';

import { api, ApiError, IPreferences } from '../api';
import { GitHubActions } from './GitHubActions';
import { IPanelContext, message } from '../context';
import { ISession, sessionLabel } from '../format';
import { openNotebookDiff } from '../notebookDiff';
import { useSettings } from '../hooks/useSettings';
import { Alerts } from './Alerts';
import { HooksChanged } from './HooksChanged';
import { DiffView, IDiff } from './DiffView';
import { FileLink } from './FileLink';
import { worktreeLink } from '../fileLinks';
import { openFile } from '../openFile';

export function ChangesView(props: {
  ctx: IPanelContext;
  session: ISession;
  active: boolean;
  turns: number;
}): JSX.Element {
  const { session } = props;
  const settings = useSettings(props.ctx.controller);
  const [status, setStatus] = useState<any>(null);
  const [diff, setDiff] = useState<IDiff | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [commitMessage, setCommitMessage] = useState('');
  const [strategy, setStrategy] = useState('merge');
  const [busy, setBusy] = useState(false);
  const [preferences, setPreferences] = useState<IPreferences | null>(null);

  useEffect(() => {
    api
      .preferences()
      .then(answer => setPreferences(answer.preferences))
      .catch(e => setError(message(e)));
  }, []);

  const setStrip = async (strip: boolean) => {
    try {
      const saved = await api.savePreferences({
        ...(preferences ?? {}),
        strip_notebook_outputs: strip
      });
      setPreferences(saved.preferences);
    } catch (e) {
      setError(message(e));
    }
  };

  const load = useCallback(async () => {
    setLoading(true);
    setError(null);
    try {
      const [s, d] = await Promise.all([
        api.status(session.id),
        api.diff(session.id, settings.diffAgainst)
      ]);
      setStatus(s);
      setDiff(d);
    } catch (e) {
      setError(message(e));
    } finally {
      setLoading(false);
    }
  }, [session.id, settings.diffAgainst]);

  useEffect(() => {
    if (props.active) {
      void load();
    }
  }, [props.active, props.turns, load]);

  const commit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const { commit } = await api.commit(session.id, commitMessage.trim());
      setCommitMessage('');
      const stripped: string[] = commit.notebooks_stripped ?? [];
      setNotice(
        `Committed ${commit.sha.slice(0, 8)} (${commit.files.length} file${commit.files.length === 1 ? '' : 's'}).` +
          (stripped.length
            ? ` Outputs stripped from ${stripped.join(', ')} (the worktree keeps them).`
            : '')
      );
      await load();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const merge = async () => {
    const answer = await showDialog({
      title: `Merge into ${session.base}?`,
      body: `The commits of ${session.branch} go into ${session.base} (${strategy}). Uncommitted changes stay in the worktree and are not merged.`,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Merge' })]
    });
    if (!answer.button.accept) {
      return;
    }
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const { merge } = await api.merge(session.id, strategy);
      setNotice(
        `Merged into ${merge.base}: it is now at ${String(merge.merged_commit).slice(0, 8)}.`
      );
      await load();
    } catch (e) {
      const conflicts: string[] =
        e instanceof ApiError ? (e.details.conflicts ?? []) : [];
      setError(
        message(e) +
          (conflicts.length
            ? ` Conflicting files: ${conflicts.join(', ')}.`
            : '')
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="jp-lawless-changes">
      <div className="jp-lawless-listhead">
        <div className="jp-lawless-muted">
          {status
            ? `${status.ahead} commit${status.ahead === 1 ? '' : 's'} ahead of ${status.base} · ${status.clean ? 'no uncommitted changes' : `${status.files.length} uncommitted`}`
            : ' '}
        </div>
        <button
          className="jp-lawless-linkbutton"
          onClick={() => void load()}
          disabled={loading}
          aria-label="Refresh the changes"
        >
          {loading ? 'Loading…' : 'Refresh'}
        </button>
      </div>
      <Alerts error={error} notice={notice} />
      {status && (
        <>
          <h3>Uncommitted</h3>
          {status.files.length === 0 ? (
            <div className="jp-lawless-muted">Nothing to commit.</div>
          ) : (
            <ul className="jp-lawless-files" aria-label="Changed files">
              {status.files.map((f: any) => (
                <li key={f.path}>
                  <span
                    className={`jp-lawless-filestatus jp-lawless-fs-${f.status}`}
                  >
                    {f.status}
                  </span>{' '}
                  <ChangedFile
                    ctx={props.ctx}
                    session={session}
                    path={f.path}
                    deleted={f.status === 'deleted'}
                  />
                </li>
              ))}
            </ul>
          )}
          <HooksChanged hooks={status.hooks_changed} />
          <form className="jp-lawless-commit" onSubmit={commit}>
            <label
              htmlFor="jp-lawless-commit-message"
              className="jp-lawless-sr"
            >
              Commit message
            </label>
            <input
              id="jp-lawless-commit-message"
              className="jp-mod-styled"
              placeholder="Commit message"
              value={commitMessage}
              onChange={e => setCommitMessage(e.target.value)}
            />
            <button
              type="submit"
              className="jp-mod-styled jp-mod-accept jp-lawless-button"
              disabled={busy || status.clean || !commitMessage.trim()}
            >
              Commit all
            </button>
          </form>
          <label className="jp-lawless-check">
            <input
              type="checkbox"
              checked={preferences?.strip_notebook_outputs === true}
              disabled={preferences === null}
              onChange={e => void setStrip(e.target.checked)}
            />{' '}
            Strip notebook outputs when committing
          </label>
          <div className="jp-lawless-merge">
            <label htmlFor="jp-lawless-strategy">
              Merge back into {session.base}
            </label>
            <div className="jp-lawless-row">
              <select
                id="jp-lawless-strategy"
                className="jp-mod-styled"
                value={strategy}
                onChange={e => setStrategy(e.target.value)}
              >
                <option value="merge">merge commit</option>
                <option value="squash">squash</option>
                <option value="rebase">rebase</option>
              </select>
              <button
                className="jp-mod-styled jp-lawless-button"
                onClick={() => void merge()}
                disabled={busy || status.ahead === 0}
              >
                Merge
              </button>
            </div>
          </div>
          <GitHubActions session={session} />
        </>
      )}
      {diff && (
        <DiffView
          diff={diff}
          onOpenTab={path =>
            void props.ctx.app.commands
              .execute('lawless:open-diff', {
                session: session.id,
                against: diff.against,
                ...(path ? { path } : {})
              })
              .catch(e => setError(message(e)))
          }
          onOpenNotebook={path =>
            void openNotebookDiff({
              app: props.ctx.app,
              rendermime: props.ctx.rendermime,
              editorFactory:
                props.ctx.editorServices?.factoryService.newInlineEditor,
              sessionId: session.id,
              sessionLabel: sessionLabel(session),
              path,
              against: diff.against
            }).catch(e => setError(message(e)))
          }
        />
      )}
    </div>
  );
}

/** A changed file: a link that opens it in JupyterLab (plain when it cannot be opened). */
function ChangedFile(props: {
  ctx: IPanelContext;
  session: ISession;
  path: string;
  deleted: boolean;
}): JSX.Element {
  const link = props.deleted ? null : worktreeLink(props.path, props.session);
  return (
    <code>
      {link === null ? (
        props.path
      ) : (
        <FileLink link={link} open={l => void openFile(props.ctx.app, l)} />
      )}
    </code>
  );
}
