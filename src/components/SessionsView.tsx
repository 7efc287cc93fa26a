import { Dialog, showDialog } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import React, { useEffect, useState } from 'react';

import { api, ApiError } from '../api';
import { attemptCount, IAttempt } from '../attempts';
import { IPanelContext, message } from '../context';
import { age, ISession, sessionLabel } from '../format';
import { Alerts } from './Alerts';

function browserPath(browser: IDefaultFileBrowser | null): string {
  const path = browser?.model.path ?? '';
  const colon = path.indexOf(':');
  return colon >= 0 ? path.slice(colon + 1) : path; // drop a drive name
}

export function SessionsView(props: {
  ctx: IPanelContext;
  sessions: ISession[] | null;
  error: string | null;
  refresh: () => Promise<ISession[] | null>;
  onOpen: (id: string) => void;
}): JSX.Element {
  const { ctx, sessions } = props;
  const [repo, setRepo] = useState(browserPath(ctx.browser));
  const [repoEdited, setRepoEdited] = useState(false);
  const [base, setBase] = useState('');
  const [name, setName] = useState('');
  const [count, setCount] = useState('1');
  const [prompt, setPrompt] = useState('');
  const [check, setCheck] = useState('');
  const [attempts, setAttempts] = useState<Partial<IAttempt>[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const n = attemptCount(count);
  const openAttempts = (id: string) =>
    void ctx.app.commands.execute('lawless:open-attempts', { id });
  const refreshAttempts = async () => {
    try {
      setAttempts((await api.listAttempts()).attempts);
    } catch {
      setAttempts([]); // the list of sessions says what is wrong
    }
  };

  useEffect(() => {
    void props.refresh(); // states change while a session is open
    void refreshAttempts();
  }, []);

  useEffect(() => {
    const browser = ctx.browser;
    if (!browser || repoEdited) {
      return;
    }
    const follow = () => setRepo(browserPath(browser));
    browser.model.pathChanged.connect(follow);
    return () => {
      browser.model.pathChanged.disconnect(follow);
    };
  }, [repoEdited]);

  const create = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      if (n > 1) {
        const { attempt } = await api.createAttempt({
          repo: repo.trim(),
          ...(base.trim() ? { base: base.trim() } : {}),
          prompt,
          n,
          ...(check.trim() ? { check: check.trim() } : {})
        });
        setPrompt('');
        await Promise.all([props.refresh(), refreshAttempts()]);
        openAttempts(attempt.id);
        return;
      }
      const { session } = await api.createSession({
        repo: repo.trim(),
        ...(base.trim() ? { base: base.trim() } : {}),
        ...(name.trim() ? { name: name.trim() } : {})
      });
      setName('');
      await props.refresh();
      props.onOpen(session.id);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (session: ISession) => {
    const label = sessionLabel(session);
    const where = session.worktree_dir ?? session.worktree_path;
    const first = await showDialog({
      title: `Delete session “${label}”?`,
      body: (
        <div className="jp-lawless-dialog">
          <p>
            This removes its worktree folder <code>{where}</code>.
          </p>
          <p>
            Its branch <code>{session.branch}</code> is deleted too, unless it
            has commits that <code>{session.base}</code> does not have: then the
            branch is kept. A worktree with uncommitted changes is not deleted
            unless you confirm again.
          </p>
        </div>
      ),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({
          label: 'Delete',
          ariaLabel: `Delete session ${label}`
        })
      ]
    });
    if (!first.button.accept) {
      return;
    }
    setError(null);
    try {
      const result = await api.deleteSession(session.id);
      setNotice(deletedNotice(label, result));
    } catch (e) {
      if (!(
        e instanceof ApiError &&
        e.status === 409 &&
        e.details.uncommitted
      )) {
        setError(message(e));
        await props.refresh();
        return;
      }
      let files: string[] = [];
      try {
        const status = await api.status(session.id);
        files = status.files.map((f: any) => `${f.status}: ${f.path}`);
      } catch {
        files = [];
      }
      const second = await showDialog({
        title: 'Uncommitted changes will be lost',
        body: (
          <div className="jp-lawless-dialog">
            <p>
              The worktree of “{label}” has changes that were never committed.
              Deleting anyway throws them away for good
              {session.branch ? (
                <>
                  , and deletes the branch <code>{session.branch}</code> even if
                  it has unmerged commits
                </>
              ) : null}
              .
            </p>
            {files.length > 0 && (
              <ul className="jp-lawless-filelist">
                {files.slice(0, 20).map(f => (
                  <li key={f}>
                    <code>{f}</code>
                  </li>
                ))}
                {files.length > 20 && <li>… and {files.length - 20} more</li>}
              </ul>
            )}
          </div>
        ),
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: 'Delete anyway' })
        ]
      });
      if (second.button.accept) {
        try {
          const result = await api.deleteSession(session.id, true);
          setNotice(deletedNotice(label, result));
        } catch (e2) {
          setError(message(e2));
        }
      }
    }
    await props.refresh();
  };

  return (
    <div className="jp-lawless-sessions">
      <form
        className="jp-lawless-create"
        onSubmit={create}
        aria-label="Start a workspace session"
      >
        <h3>New session</h3>
        <label htmlFor="jp-lawless-repo">Repository</label>
        <input
          id="jp-lawless-repo"
          className="jp-mod-styled"
          value={repo}
          placeholder="folder of a git repository (empty: the root)"
          onChange={e => {
            setRepo(e.target.value);
            setRepoEdited(true);
          }}
          aria-describedby="jp-lawless-repo-help"
        />
        <div id="jp-lawless-repo-help" className="jp-lawless-help">
          Relative to the Jupyter root; follows the file browser until you type.
        </div>
        <div className="jp-lawless-row">
          <div className="jp-lawless-field">
            <label htmlFor="jp-lawless-base">Base branch</label>
            <input
              id="jp-lawless-base"
              className="jp-mod-styled"
              value={base}
              placeholder="current branch"
              onChange={e => setBase(e.target.value)}
            />
          </div>
          <div className="jp-lawless-field">
            <label htmlFor="jp-lawless-name">Name</label>
            <input
              id="jp-lawless-name"
              className="jp-mod-styled"
              value={n > 1 ? '' : name}
              maxLength={80}
              disabled={n > 1}
              placeholder={n > 1 ? 'from the task, a1…a' + n : 'optional'}
              onChange={e => setName(e.target.value)}
            />
          </div>
        </div>
        <div className="jp-lawless-row">
          <div className="jp-lawless-field">
            <label htmlFor="jp-lawless-count">Attempts</label>
            <input
              id="jp-lawless-count"
              className="jp-mod-styled"
              type="number"
              min={1}
              max={5}
              value={count}
              onChange={e => setCount(e.target.value)}
              aria-describedby="jp-lawless-count-help"
            />
          </div>
          {n > 1 && (
            <div className="jp-lawless-field">
              <label htmlFor="jp-lawless-check">Check command</label>
              <input
                id="jp-lawless-check"
                className="jp-mod-styled"
                value={check}
                placeholder="optional, e.g. pytest -q"
                onChange={e => setCheck(e.target.value)}
              />
            </div>
          )}
        </div>
        <div id="jp-lawless-count-help" className="jp-lawless-help">
          1: an ordinary session. 2 to 5: the same task in that many sessions at
          once; keep the best.
        </div>
        {n > 1 && (
          <>
            <label htmlFor="jp-lawless-prompt">Task for every attempt</label>
            <textarea
              id="jp-lawless-prompt"
              className="jp-mod-styled jp-lawless-prompt"
              value={prompt}
              rows={3}
              required
              onChange={e => setPrompt(e.target.value)}
            />
          </>
        )}
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-lawless-button"
          disabled={busy || (n > 1 && !prompt.trim())}
        >
          {busy
            ? 'Creating…'
            : n > 1
              ? `Start ${n} attempts`
              : 'Create session'}
        </button>
      </form>
      <Alerts error={error} notice={notice} />
      {attempts.length > 0 && (
        <>
          <h3 id="jp-lawless-attempts-title">Attempts</h3>
          <ul
            className="jp-lawless-list"
            aria-labelledby="jp-lawless-attempts-title"
          >
            {attempts.slice(0, 10).map(a => (
              <li key={a.id} className="jp-lawless-item">
                <button
                  className="jp-lawless-open"
                  onClick={() => openAttempts(a.id!)}
                  aria-label={`Open attempts “${a.prompt}”`}
                >
                  <span className="jp-lawless-item-title">
                    {(a.prompt ?? '').slice(0, 60)}
                    <span className="jp-lawless-state">{a.state}</span>
                  </span>
                  <span className="jp-lawless-item-meta">
                    {a.repo || '(root)'} · {age(a.created_at ?? '')}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <div className="jp-lawless-listhead">
        <h3 id="jp-lawless-sessions-title">Sessions</h3>
        <button
          className="jp-lawless-linkbutton"
          onClick={() => void props.refresh()}
          aria-label="Refresh the list of sessions"
        >
          Refresh
        </button>
      </div>
      <Alerts error={props.error} />
      {sessions === null && !props.error && (
        <div className="jp-lawless-muted">Loading…</div>
      )}
      {sessions?.length === 0 && (
        <div className="jp-lawless-muted">
          No sessions yet. Pick a repository above and create one.
        </div>
      )}
      <ul
        className="jp-lawless-list"
        aria-labelledby="jp-lawless-sessions-title"
      >
        {sessions?.map(s => (
          <li key={s.id} className="jp-lawless-item">
            <button
              className="jp-lawless-open"
              onClick={() => props.onOpen(s.id)}
              aria-label={`Open session ${sessionLabel(s)} (${s.state})`}
              title={s.error ?? s.worktree_path}
            >
              <span className="jp-lawless-item-title">
                {sessionLabel(s)}
                <span
                  className={`jp-lawless-state jp-lawless-state-${s.state}`}
                >
                  {s.state}
                </span>
              </span>
              <span className="jp-lawless-item-meta">
                {s.repo || '(root)'} · {s.branch} · {age(s.created_at)}
              </span>
            </button>
            <button
              className="jp-lawless-iconbutton"
              onClick={() => void remove(s)}
              aria-label={`Delete session ${sessionLabel(s)}`}
              title="Delete session"
            >
              ✕
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function deletedNotice(label: string, result: any): string {
  if (result?.branch_deleted === false && result?.unmerged_commits > 0) {
    return `Deleted “${label}”. Its branch ${result.session?.branch} was kept: it has ${result.unmerged_commits} commit(s) not merged.`;
  }
  return `Deleted “${label}”.`;
}
