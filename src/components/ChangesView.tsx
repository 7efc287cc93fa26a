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
import { useTrans } from '../translation';

export function ChangesView(props: {
  ctx: IPanelContext;
  session: ISession;
  active: boolean;
  turns: number;
}): JSX.Element {
  const { session } = props;
  const settings = useSettings(props.ctx.controller);
  const trans = useTrans();
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
      const files = commit.files.length;
      setNotice(
        trans._n(
          'Committed %2 (%1 file).',
          'Committed %2 (%1 files).',
          files,
          commit.sha.slice(0, 8)
        ) +
          (stripped.length
            ? ' ' +
              trans.__(
                'Outputs stripped from %1 (the worktree keeps them).',
                stripped.join(', ')
              )
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
      title: trans.__('Merge into %1?', session.base),
      body: trans.__(
        'The commits of %1 go into %2 (%3). Uncommitted changes stay in the worktree and are not merged.',
        session.branch,
        session.base,
        strategy
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Merge') })
      ]
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
        trans.__(
          'Merged into %1: it is now at %2.',
          merge.base,
          String(merge.merged_commit).slice(0, 8)
        )
      );
      await load();
    } catch (e) {
      const conflicts: string[] =
        e instanceof ApiError ? (e.details.conflicts ?? []) : [];
      setError(
        message(e) +
          (conflicts.length
            ? ' ' + trans.__('Conflicting files: %1.', conflicts.join(', '))
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
            ? trans._n(
                '%1 commit ahead of %2',
                '%1 commits ahead of %2',
                status.ahead,
                status.base
              ) +
              ' · ' +
              (status.clean
                ? trans.__('no uncommitted changes')
                : trans.__('%1 uncommitted', status.files.length))
            : ' '}
        </div>
        <button
          className="jp-lawless-linkbutton"
          onClick={() => void load()}
          disabled={loading}
          aria-label={trans.__('Refresh the changes')}
        >
          {loading ? trans.__('Loading…') : trans.__('Refresh')}
        </button>
      </div>
      <Alerts error={error} notice={notice} />
      {status && (
        <>
          <h3>{trans.__('Uncommitted')}</h3>
          {status.files.length === 0 ? (
            <div className="jp-lawless-muted">
              {trans.__('Nothing to commit.')}
            </div>
          ) : (
            <ul
              className="jp-lawless-files"
              aria-label={trans.__('Changed files')}
            >
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
              {trans.__('Commit message')}
            </label>
            <input
              id="jp-lawless-commit-message"
              className="jp-mod-styled"
              placeholder={trans.__('Commit message')}
              value={commitMessage}
              onChange={e => setCommitMessage(e.target.value)}
            />
            <button
              type="submit"
              className="jp-mod-styled jp-mod-accept jp-lawless-button"
              disabled={busy || status.clean || !commitMessage.trim()}
            >
              {trans.__('Commit all')}
            </button>
          </form>
          <label className="jp-lawless-check">
            <input
              type="checkbox"
              checked={preferences?.strip_notebook_outputs === true}
              disabled={preferences === null}
              onChange={e => void setStrip(e.target.checked)}
            />{' '}
            {trans.__('Strip notebook outputs when committing')}
          </label>
          <div className="jp-lawless-merge">
            <label htmlFor="jp-lawless-strategy">
              {trans.__('Merge back into %1', session.base)}
            </label>
            <div className="jp-lawless-row">
              <select
                id="jp-lawless-strategy"
                className="jp-mod-styled"
                value={strategy}
                onChange={e => setStrategy(e.target.value)}
              >
                <option value="merge">{trans.__('merge commit')}</option>
                <option value="squash">{trans.__('squash')}</option>
                <option value="rebase">{trans.__('rebase')}</option>
              </select>
              <button
                className="jp-mod-styled jp-lawless-button"
                onClick={() => void merge()}
                disabled={busy || status.ahead === 0}
              >
                {trans.__('Merge')}
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
              against: diff.against,
              trans
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
