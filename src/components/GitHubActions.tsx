import React, { useState } from 'react';

import { connectionsApi, text } from '../connectionsApi';
import { ISession } from '../format';
import { useTrans } from '../translation';
import { Alerts } from './Alerts';

/** Push and "Open pull request" for a session's Changes tab. */
export function GitHubActions(props: { session: ISession }): JSX.Element {
  const { session } = props;
  const trans = useTrans();
  const [busy, setBusy] = useState(false);
  const [title, setTitle] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async (what: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await what();
    } catch (e) {
      setError(text(e));
    } finally {
      setBusy(false);
    }
  };
  const push = () =>
    run(async () => {
      const { push } = await connectionsApi.push(session.id);
      setNotice(trans.__('Pushed %1 to %2.', push.branch, push.full_name));
    });
  const openPullRequest = () =>
    run(async () => {
      const { pull_request } = await connectionsApi.pullRequest(
        session.id,
        title.trim(),
        ''
      );
      setUrl(pull_request.url);
      setNotice(trans.__('Pull request #%1 is open.', pull_request.number));
    });

  return (
    <div className="jp-lawless-github-actions">
      <h3>{trans.__('GitHub')}</h3>
      <div className="jp-lawless-row">
        <button
          className="jp-mod-styled jp-lawless-button"
          onClick={() => void push()}
          disabled={busy}
        >
          {trans.__('Push')}
        </button>
        <input
          className="jp-mod-styled"
          aria-label={trans.__('Pull request title')}
          placeholder={trans.__('Pull request title')}
          value={title}
          onChange={e => setTitle(e.target.value)}
        />
        <button
          className="jp-mod-styled jp-lawless-button"
          onClick={() => void openPullRequest()}
          disabled={busy || !title.trim()}
        >
          {trans.__('Open pull request')}
        </button>
      </div>
      {notice && (
        <div className="jp-lawless-notice" role="status">
          {notice}{' '}
          {url && (
            <a href={url} target="_blank" rel="noreferrer">
              {url}
            </a>
          )}
        </div>
      )}
      <Alerts error={error} />
    </div>
  );
}
