import React, { useEffect, useRef, useState } from 'react';

import { connectionsApi, text, webFlowUrl } from '../connectionsApi';
import {
  appendRepos,
  describeProvider,
  deviceOutcome,
  IAuthStatus,
  IDeviceStart,
  IRepo,
  pollDeviceFlow,
  providerOf
} from '../connectionsState';
import { useTrans } from '../translation';
import { Alerts } from './Alerts';

export function GitHubSection(props: {
  status: IAuthStatus | null;
  reload: () => Promise<void>;
}): JSX.Element {
  const entry = providerOf(props.status, 'github');
  const trans = useTrans();
  const [device, setDevice] = useState<IDeviceStart | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [repos, setRepos] = useState<IRepo[]>([]);
  const [nextPage, setNextPage] = useState<number | null>(1);
  const [busy, setBusy] = useState(false);
  const stop = useRef<AbortController | null>(null);
  useEffect(() => () => stop.current?.abort(), []);

  const connectInPopup = () => {
    setError(null);
    const popup = window.open(
      webFlowUrl(),
      'lawless-github',
      'width=720,height=800'
    );
    if (!popup) {
      setError(
        trans.__(
          'The browser blocked the GitHub window; allow pop-ups or use a code.'
        )
      );
      return;
    }
    const timer = window.setInterval(async () => {
      const status = await connectionsApi.status().catch(() => null);
      const connected = providerOf(status, 'github')?.connected;
      if (connected || popup.closed) {
        window.clearInterval(timer);
        if (!popup.closed) {
          popup.close();
        }
        await props.reload();
      }
    }, 2000);
  };

  const connectWithCode = async () => {
    setError(null);
    setNotice(null);
    stop.current?.abort();
    const controller = new AbortController();
    stop.current = controller;
    try {
      const started = await connectionsApi.startDevice();
      setDevice(started);
      const answer = await pollDeviceFlow(started, connectionsApi.pollDevice, {
        signal: controller.signal
      });
      if (answer) {
        setNotice(deviceOutcome(answer, trans));
        setDevice(null);
        await props.reload();
      }
    } catch (e) {
      setDevice(null);
      setError(text(e));
    }
  };

  const disconnect = async () => {
    try {
      await connectionsApi.disconnect('github');
      setRepos([]);
      setNextPage(1);
      await props.reload();
    } catch (e) {
      setError(text(e));
    }
  };

  const moreRepos = async () => {
    if (nextPage === null) {
      return;
    }
    setBusy(true);
    try {
      const page = await connectionsApi.repos(nextPage);
      setRepos(list => appendRepos(list, page.repos));
      setNextPage(page.next_page);
    } catch (e) {
      setError(text(e));
    } finally {
      setBusy(false);
    }
  };

  const clone = async (repo: IRepo) => {
    setBusy(true);
    setError(null);
    try {
      const result = await connectionsApi.clone(repo.full_name);
      setNotice(trans.__('Cloned %1 into %2.', repo.full_name, result.repo));
    } catch (e) {
      setError(text(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="jp-lawless-connection" aria-label={trans.__('GitHub')}>
      <h3>{trans.__('GitHub')}</h3>
      <div className="jp-lawless-muted">{describeProvider(entry, trans)}</div>
      {entry?.connected ? (
        <div className="jp-lawless-row">
          <button
            className="jp-mod-styled jp-lawless-button"
            onClick={() => void moreRepos()}
            disabled={busy || nextPage === null}
          >
            {repos.length
              ? trans.__('More repositories')
              : trans.__('List repositories')}
          </button>
          {entry.source !== 'hub' && (
            <button
              className="jp-mod-styled jp-lawless-button"
              onClick={() => void disconnect()}
            >
              {trans.__('Disconnect')}
            </button>
          )}
        </div>
      ) : props.status?.github.oauth_configured ? (
        <div className="jp-lawless-row">
          <button
            className="jp-mod-styled jp-mod-accept jp-lawless-button"
            onClick={connectInPopup}
          >
            {trans.__('Connect GitHub')}
          </button>
          <button
            className="jp-mod-styled jp-lawless-button"
            onClick={() => void connectWithCode()}
            disabled={device !== null}
          >
            {trans.__('Connect with a code')}
          </button>
        </div>
      ) : (
        props.status && (
          <div className="jp-lawless-notice" role="note">
            {trans.__(
              'No GitHub OAuth app is configured on this server; the administrator sets LawlessApp.github_client_id (see the README).'
            )}
          </div>
        )
      )}
      {device && (
        <div className="jp-lawless-notice" role="status">
          {trans.__('Enter this code:')} <code>{device.user_code}</code>{' '}
          <a href={device.verification_uri} target="_blank" rel="noreferrer">
            {device.verification_uri}
          </a>{' '}
          {trans.__('Waiting…')}
        </div>
      )}
      <Alerts error={error} notice={notice} />
      {repos.length > 0 && (
        <ul className="jp-lawless-repos">
          {repos.map(repo => (
            <li key={repo.full_name} className="jp-lawless-row">
              <span title={repo.description ?? ''}>
                {repo.full_name}
                {repo.private ? ` ${trans.__('(private)')}` : ''}
              </span>
              <button
                className="jp-mod-styled jp-lawless-button"
                onClick={() => void clone(repo)}
                disabled={busy}
              >
                {trans.__('Clone')}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
