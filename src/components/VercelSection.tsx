import React, { useEffect, useState } from 'react';

import { connectionsApi, text } from '../connectionsApi';
import {
  deploymentState,
  describeProvider,
  IAuthStatus,
  IDeployment,
  providerOf
} from '../connectionsState';
import { useTrans } from '../translation';
import { Alerts } from './Alerts';

export function VercelSection(props: {
  status: IAuthStatus | null;
  reload: () => Promise<void>;
}): JSX.Element {
  const entry = providerOf(props.status, 'vercel');
  const trans = useTrans();
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
    <section className="jp-lawless-connection" aria-label={trans.__('Vercel')}>
      <h3>{trans.__('Vercel')}</h3>
      <div className="jp-lawless-muted">{describeProvider(entry, trans)}</div>
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
          {trans.__('Disconnect')}
        </button>
      ) : (
        <form className="jp-lawless-row" onSubmit={connect}>
          <input
            className="jp-mod-styled"
            type="password"
            aria-label={trans.__('Vercel token')}
            placeholder={trans.__('Vercel token')}
            autoComplete="off"
            value={token}
            onChange={e => setToken(e.target.value)}
          />
          <button
            className="jp-mod-styled jp-lawless-button"
            type="submit"
            disabled={!token.trim()}
          >
            {trans.__('Connect')}
          </button>
        </form>
      )}
      <Alerts error={error} />
      {projects && (
        <div className="jp-lawless-muted">
          {trans.__(
            'Projects: %1',
            projects.map(p => p.name).join(', ') || trans.__('none')
          )}
        </div>
      )}
      {deployments && deployments.length > 0 && (
        <ul className="jp-lawless-deployments">
          {deployments.map(d => {
            const state = deploymentState(d.state, trans);
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
