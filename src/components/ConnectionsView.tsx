/**
 * The session's Connections tab: GitHub, Vercel and the Supabase mirror's state.
 */
import React, { useCallback, useEffect, useState } from 'react';

import { connectionsApi, text } from '../connectionsApi';
import { IAuthStatus } from '../connectionsState';
import { useTrans } from '../translation';
import { Alerts } from './Alerts';
import { GitHubSection } from './GitHubSection';
import { VercelSection } from './VercelSection';

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

function SupabaseSection(): JSX.Element {
  const trans = useTrans();
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
    const depth = status.outbox?.depth ?? 0;
    const parked = status.outbox?.parked ?? 0;
    const waiting = parked
      ? trans._n(
          '%1 row waiting, %2 refused',
          '%1 rows waiting, %2 refused',
          depth,
          parked
        )
      : trans._n('%1 row waiting', '%1 rows waiting', depth);
    summary = !status.configured
      ? trans.__('Off: data stays in this server’s SQLite.')
      : status.reachable === false
        ? trans.__('Unreachable: %1; %2.', status.url, waiting)
        : trans.__('Mirroring to %1; %2.', status.url, waiting);
  }
  return (
    <section
      className="jp-lawless-connection"
      aria-label={trans.__('Supabase')}
    >
      <h3>{trans.__('Supabase mirror')}</h3>
      <div className="jp-lawless-muted">{error ?? summary}</div>
      {status?.last_error && (
        <div className="jp-lawless-error">{status.last_error}</div>
      )}
    </section>
  );
}
