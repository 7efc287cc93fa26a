import React from 'react';

import { ISession, sessionLabel } from '../format';

/** A session's name and its branch against the base, the worktree in the tooltip. */
export function SessionTitle(props: { session: ISession }): JSX.Element {
  const { session } = props;
  return (
    <div className="jp-lawless-sessiontitle" title={session.worktree_path}>
      <strong>{sessionLabel(session)}</strong>
      <span className="jp-lawless-muted">
        {' '}
        {session.branch} ← {session.base}
      </span>
    </div>
  );
}
