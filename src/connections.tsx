/**
 * Connections: GitHub (web flow in a popup, or the device flow's code), Vercel (a token,
 * projects, deployments), the Supabase mirror's state; and the Push / Open pull request
 * buttons of a session's Changes tab.
 */
import { ServerConnection } from '@jupyterlab/services';
import React, { useCallback, useEffect, useRef, useState } from 'react';

import { request } from './api';
import {
  appendRepos,
  deploymentState,
  describeProvider,
  deviceOutcome,
  IAuthStatus,
  IDeployment,
  IDevicePoll,
  IDeviceStart,
  IRepo,
  pollDeviceFlow,
  providerOf
} from './connectionsState';
import { ISession } from './format';
import { Alerts } from './components/Alerts';

const sessionPath = (id: string, rest: string): string =>
  `api/workspace/sessions/${encodeURIComponent(id)}${rest}`;

export const connectionsApi = {
  status: (): Promise<IAuthStatus> =>
    request('api/auth/status', { what: 'the connections' }),
  disconnect: (provider: 'github' | 'vercel'): Promise<any> =>
    request(`api/auth/${provider}`, { method: 'DELETE', what: provider }),
  startDevice: (): Promise<IDeviceStart> =>
    request('api/auth/github/device', { method: 'POST', what: 'GitHub' }),
  pollDevice: (deviceId: string): Promise<IDevicePoll> =>
    request('api/auth/github/device/poll', {
      method: 'POST',
      body: { device_id: deviceId },
      what: 'GitHub'
    }),
  repos: (
    page: number
  ): Promise<{ repos: IRepo[]; next_page: number | null }> =>
    request(`api/integrations/github/repos?page=${page}&per_page=50`, {
      what: 'GitHub'
    }),
  clone: (fullName: string): Promise<{ repo: string }> =>
    request('api/integrations/github/clone', {
      method: 'POST',
      body: { full_name: fullName },
      what: 'GitHub'
    }),
  push: (
    id: string
  ): Promise<{ push: { branch: string; full_name: string } }> =>
    request(sessionPath(id, '/git/push'), {
      method: 'POST',
      what: 'the session'
    }),
  pullRequest: (
    id: string,
    title: string,
    body: string
  ): Promise<{ pull_request: { url: string; number: number } }> =>
    request(sessionPath(id, '/git/pull-request'), {
      method: 'POST',
      body: { title, body },
      what: 'the session'
    }),
  connectVercel: (token: string): Promise<{ account: string }> =>
    request('api/integrations/vercel', {
      method: 'PUT',
      body: { token },
      what: 'Vercel'
    }),
  vercelProjects: (): Promise<{ projects: any[] }> =>
    request('api/integrations/vercel/projects', { what: 'Vercel' }),
  vercelDeployments: (): Promise<{ deployments: IDeployment[] }> =>
    request('api/integrations/vercel/deployments', { what: 'Vercel' }),
  supabase: (): Promise<any> =>
    request('api/integrations/supabase/status', { what: 'the Supabase mirror' })
};

const text = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** Where the web flow starts, returning to a light page of this server when done. */
function webFlowUrl(): string {
  const base = ServerConnection.makeSettings().baseUrl;
  const path = new URL(base, window.location.href).pathname;
  const next = `${path}lawless/health`;
  return `${base}lawless/api/auth/github?next=${encodeURIComponent(next)}`;
}

export function ConnectionsView(): JSX.Element {
  const [status, setStatus] = useState<IAuthStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setStatus(await connectionsApi.status());
      setError(null);
    } catch (e) {
      setError(text(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <div className="jp-lawless-connections">
      <Alerts error={error} />
      <GitHubSection status={status} reload={load} />
      <VercelSection status={status} reload={load} />
      <SupabaseSection />
    </div>
  );
}

function GitHubSection(props: {
  status: IAuthStatus | null;
  reload: () => Promise<void>;
}): JSX.Element {
  const entry = providerOf(props.status, 'github');
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
        'The browser blocked the GitHub window; allow pop-ups or use a code.'
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
        setNotice(deviceOutcome(answer));
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
      setNotice(`Cloned ${repo.full_name} into ${result.repo}.`);
    } catch (e) {
      setError(text(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="jp-lawless-connection" aria-label="GitHub">
      <h3>GitHub</h3>
      <div className="jp-lawless-muted">{describeProvider(entry)}</div>
      {entry?.connected ? (
        <div className="jp-lawless-row">
          <button
            className="jp-mod-styled jp-lawless-button"
            onClick={() => void moreRepos()}
            disabled={busy || nextPage === null}
          >
            {repos.length ? 'More repositories' : 'List repositories'}
          </button>
          {entry.source !== 'hub' && (
            <button
              className="jp-mod-styled jp-lawless-button"
              onClick={() => void disconnect()}
            >
              Disconnect
            </button>
          )}
        </div>
      ) : props.status?.github.oauth_configured ? (
        <div className="jp-lawless-row">
          <button
            className="jp-mod-styled jp-mod-accept jp-lawless-button"
            onClick={connectInPopup}
          >
            Connect GitHub
          </button>
          <button
            className="jp-mod-styled jp-lawless-button"
            onClick={() => void connectWithCode()}
            disabled={device !== null}
          >
            Connect with a code
          </button>
        </div>
      ) : (
        props.status && (
          <div className="jp-lawless-notice" role="note">
            No GitHub OAuth app is configured on this server; the administrator
            sets LawlessApp.github_client_id (see the README).
          </div>
        )
      )}
      {device && (
        <div className="jp-lawless-notice" role="status">
          Enter <code>{device.user_code}</code> at{' '}
          <a href={device.verification_uri} target="_blank" rel="noreferrer">
            {device.verification_uri}
          </a>
          . Waiting…
        </div>
      )}
      <Alerts error={error} notice={notice} />
      {repos.length > 0 && (
        <ul className="jp-lawless-repos">
          {repos.map(repo => (
            <li key={repo.full_name} className="jp-lawless-row">
              <span title={repo.description ?? ''}>
                {repo.full_name}
                {repo.private ? ' (private)' : ''}
              </span>
              <button
                className="jp-mod-styled jp-lawless-button"
                onClick={() => void clone(repo)}
                disabled={busy}
              >
                Clone
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function VercelSection(props: {
  status: IAuthStatus | null;
  reload: () => Promise<void>;
}): JSX.Element {
  const entry = providerOf(props.status, 'vercel');
  const [token, setToken] = useState('');
  const [projects, setProjects] = useState<any[] | null>(null);
  const [deployments, setDeployments] = useState<IDeployment[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!entry?.connected) {
      setProjects(null);
      setDeployments(null);
      return;
    }
    void (async () => {
      try {
        const [p, d] = await Promise.all([
          connectionsApi.vercelProjects(),
          connectionsApi.vercelDeployments()
        ]);
        setProjects(p.projects);
        setDeployments(d.deployments);
      } catch (e) {
        setError(text(e));
      }
    })();
  }, [entry?.connected, entry?.account]);

  const connect = async (event: React.FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await connectionsApi.connectVercel(token.trim());
      setToken('');
      await props.reload();
    } catch (e) {
      setError(text(e));
    }
  };

  return (
    <section className="jp-lawless-connection" aria-label="Vercel">
      <h3>Vercel</h3>
      <div className="jp-lawless-muted">{describeProvider(entry)}</div>
      {entry?.connected ? (
        <button
          className="jp-mod-styled jp-lawless-button"
          onClick={() =>
            void connectionsApi
              .disconnect('vercel')
              .then(props.reload)
              .catch(e => setError(text(e)))
          }
        >
          Disconnect
        </button>
      ) : (
        <form className="jp-lawless-row" onSubmit={connect}>
          <input
            className="jp-mod-styled"
            type="password"
            aria-label="Vercel token"
            placeholder="Vercel token"
            autoComplete="off"
            value={token}
            onChange={e => setToken(e.target.value)}
          />
          <button
            className="jp-mod-styled jp-lawless-button"
            type="submit"
            disabled={!token.trim()}
          >
            Connect
          </button>
        </form>
      )}
      <Alerts error={error} />
      {projects && (
        <div className="jp-lawless-muted">
          Projects: {projects.map(p => p.name).join(', ') || 'none'}
        </div>
      )}
      {deployments && deployments.length > 0 && (
        <ul className="jp-lawless-deployments">
          {deployments.map(d => {
            const state = deploymentState(d.state);
            return (
              <li key={d.id}>
                <span className={`jp-lawless-deploy-${state.tone}`}>
                  {state.label}
                </span>{' '}
                {d.url ? (
                  <a href={d.url} target="_blank" rel="noreferrer">
                    {d.name}
                  </a>
                ) : (
                  d.name
                )}
                {d.target ? ` (${d.target})` : ''}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

function SupabaseSection(): JSX.Element {
  const [status, setStatus] = useState<any>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    connectionsApi
      .supabase()
      .then(setStatus)
      .catch(e => setError(text(e)));
  }, []);
  let summary = '…';
  if (status) {
    summary = !status.configured
      ? 'Off: data stays in this server’s SQLite.'
      : `${status.reachable === false ? 'Unreachable' : 'Mirroring'} to ${status.url}; ${status.outbox?.depth ?? 0} rows waiting${status.outbox?.parked ? `, ${status.outbox.parked} refused` : ''}.`;
  }
  return (
    <section className="jp-lawless-connection" aria-label="Supabase">
      <h3>Supabase mirror</h3>
      <div className="jp-lawless-muted">{error ?? summary}</div>
      {status?.last_error && (
        <div className="jp-lawless-error">{status.last_error}</div>
      )}
    </section>
  );
}

/** Push and "Open pull request" for a session's Changes tab. */
export function GitHubActions(props: { session: ISession }): JSX.Element {
  const { session } = props;
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
      setNotice(`Pushed ${push.branch} to ${push.full_name}.`);
    });
  const openPullRequest = () =>
    run(async () => {
      const { pull_request } = await connectionsApi.pullRequest(
        session.id,
        title.trim(),
        ''
      );
      setUrl(pull_request.url);
      setNotice(`Pull request #${pull_request.number} is open.`);
    });

  return (
    <div className="jp-lawless-github-actions">
      <h3>GitHub</h3>
      <div className="jp-lawless-row">
        <button
          className="jp-mod-styled jp-lawless-button"
          onClick={() => void push()}
          disabled={busy}
        >
          Push
        </button>
        <input
          className="jp-mod-styled"
          aria-label="Pull request title"
          placeholder="Pull request title"
          value={title}
          onChange={e => setTitle(e.target.value)}
        />
        <button
          className="jp-mod-styled jp-lawless-button"
          onClick={() => void openPullRequest()}
          disabled={busy || !title.trim()}
        >
          Open pull request
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
