import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import React, { useEffect, useState } from 'react';

import { api } from '../api';
import { attemptCount, IAttempt } from '../attempts';
import { IPanelContext, message } from '../context';
import { age, ISession, sessionLabel } from '../format';
import { useTrans } from '../translation';
import { Alerts } from './Alerts';
import { deleteSession } from './deleteSession';

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
  const trans = useTrans();
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
    setError(null);
    const answer = await deleteSession(session, trans);
    if (answer.notice) {
      setNotice(answer.notice);
    }
    if (answer.error) {
      setError(answer.error);
    }
    await props.refresh();
  };

  return (
    <div className="jp-lawless-sessions">
      <form
        className="jp-lawless-create"
        onSubmit={create}
        aria-label={trans.__('Start a workspace session')}
      >
        <h3>{trans.__('New session')}</h3>
        <label htmlFor="jp-lawless-repo">{trans.__('Repository')}</label>
        <input
          id="jp-lawless-repo"
          className="jp-mod-styled"
          value={repo}
          placeholder={trans.__('folder of a git repository (empty: the root)')}
          onChange={e => {
            setRepo(e.target.value);
            setRepoEdited(true);
          }}
          aria-describedby="jp-lawless-repo-help"
        />
        <div id="jp-lawless-repo-help" className="jp-lawless-help">
          {trans.__(
            'Relative to the Jupyter root; follows the file browser until you type.'
          )}
        </div>
        <div className="jp-lawless-row">
          <div className="jp-lawless-field">
            <label htmlFor="jp-lawless-base">{trans.__('Base branch')}</label>
            <input
              id="jp-lawless-base"
              className="jp-mod-styled"
              value={base}
              placeholder={trans.__('current branch')}
              onChange={e => setBase(e.target.value)}
            />
          </div>
          <div className="jp-lawless-field">
            <label htmlFor="jp-lawless-name">{trans.__('Name')}</label>
            <input
              id="jp-lawless-name"
              className="jp-mod-styled"
              value={n > 1 ? '' : name}
              maxLength={80}
              disabled={n > 1}
              placeholder={
                n > 1
                  ? trans.__('from the task, a1…a%1', n)
                  : trans.__('optional')
              }
              onChange={e => setName(e.target.value)}
            />
          </div>
        </div>
        <div className="jp-lawless-row">
          <div className="jp-lawless-field">
            <label htmlFor="jp-lawless-count">{trans.__('Attempts')}</label>
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
              <label htmlFor="jp-lawless-check">
                {trans.__('Check command')}
              </label>
              <input
                id="jp-lawless-check"
                className="jp-mod-styled"
                value={check}
                placeholder={trans.__('optional, e.g. pytest -q')}
                onChange={e => setCheck(e.target.value)}
              />
            </div>
          )}
        </div>
        <div id="jp-lawless-count-help" className="jp-lawless-help">
          {trans.__(
            '1: an ordinary session. 2 to 5: the same task in that many sessions at once; keep the best.'
          )}
        </div>
        {n > 1 && (
          <>
            <label htmlFor="jp-lawless-prompt">
              {trans.__('Task for every attempt')}
            </label>
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
            ? trans.__('Creating…')
            : n > 1
              ? trans.__('Start %1 attempts', n)
              : trans.__('Create session')}
        </button>
      </form>
      <Alerts error={error} notice={notice} />
      {attempts.length > 0 && (
        <>
          <h3 id="jp-lawless-attempts-title">{trans.__('Attempts')}</h3>
          <ul
            className="jp-lawless-list"
            aria-labelledby="jp-lawless-attempts-title"
          >
            {attempts.slice(0, 10).map(a => (
              <li key={a.id} className="jp-lawless-item">
                <button
                  className="jp-lawless-open"
                  onClick={() => openAttempts(a.id!)}
                  aria-label={trans.__('Open attempts “%1”', a.prompt ?? '')}
                >
                  <span className="jp-lawless-item-title">
                    {(a.prompt ?? '').slice(0, 60)}
                    <span className="jp-lawless-state">{a.state}</span>
                  </span>
                  <span className="jp-lawless-item-meta">
                    {a.repo || trans.__('(root)')} ·{' '}
                    {age(a.created_at ?? '', undefined, trans)}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <div className="jp-lawless-listhead">
        <h3 id="jp-lawless-sessions-title">{trans.__('Sessions')}</h3>
        <button
          className="jp-lawless-linkbutton"
          onClick={() => void props.refresh()}
          aria-label={trans.__('Refresh the list of sessions')}
        >
          {trans.__('Refresh')}
        </button>
      </div>
      <Alerts error={props.error} />
      {sessions === null && !props.error && (
        <div className="jp-lawless-muted">{trans.__('Loading…')}</div>
      )}
      {sessions?.length === 0 && (
        <div className="jp-lawless-muted">
          {trans.__('No sessions yet. Pick a repository above and create one.')}
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
              aria-label={trans.__(
                'Open session %1 (%2)',
                sessionLabel(s),
                s.state
              )}
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
                {s.repo || trans.__('(root)')} · {s.branch} ·{' '}
                {age(s.created_at, undefined, trans)}
              </span>
            </button>
            <button
              className="jp-lawless-iconbutton"
              onClick={() => void remove(s)}
              aria-label={trans.__('Delete session %1', sessionLabel(s))}
              title={trans.__('Delete session')}
            >
              ✕
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
