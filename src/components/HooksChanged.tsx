/**
 * Shown above Commit and Merge: the git hook files this session changed, which git runs
 * when the person clicks (`hooks_changed` of `GET .../git/status`).
 */
import React from 'react';

import { hooksWarning } from '../rules';
import { useTrans } from '../translation';

export function HooksChanged(props: { hooks?: string[] }): JSX.Element | null {
  const warning = hooksWarning(props.hooks, useTrans());
  return warning ? (
    <div className="jp-lawless-approval-hooks" role="alert">
      {warning}
    </div>
  ) : null;
}
