/**
 * Claude asks before a tool use: what it wants to run, and Allow / Deny / Always allow; once
 * answered (here, in another tab, or by the timeout), what was decided.
 */
import React from 'react';

import { ChatItem, shortInput } from '../chat';

type Approval = Extract<ChatItem, { kind: 'approval' }>;

export function ApprovalCard(props: {
  item: Approval;
  onAnswer: (requestId: string, allow: boolean, remember: boolean) => void;
}): JSX.Element {
  const { item } = props;
  return (
    <div
      className={`jp-lawless-approval jp-lawless-approval-${item.status}`}
      role="group"
      aria-label={`Permission request for ${item.tool}`}
    >
      <div>
        Claude wants to use <strong>{item.tool}</strong>:
      </div>
      <div className="jp-lawless-pre">
        {shortInput(item.tool, item.input) || '—'}
      </div>
      {item.status === 'pending' ? (
        <div className="jp-lawless-approval-buttons">
          <button
            className="jp-mod-styled jp-mod-accept jp-lawless-button"
            onClick={() => props.onAnswer(item.requestId, true, false)}
          >
            Allow
          </button>
          <button
            className="jp-mod-styled jp-mod-reject jp-lawless-button"
            onClick={() => props.onAnswer(item.requestId, false, false)}
          >
            Deny
          </button>
          <button
            className="jp-mod-styled jp-lawless-button"
            onClick={() => props.onAnswer(item.requestId, true, true)}
            title={`Allow ${item.tool} for the rest of this conversation`}
          >
            Always allow
          </button>
        </div>
      ) : (
        <div className="jp-lawless-muted">
          {item.status === 'allowed'
            ? item.remember
              ? `Allowed (always for ${item.tool})`
              : 'Allowed'
            : item.status === 'denied'
              ? 'Denied'
              : 'No answer in time: denied'}
        </div>
      )}
    </div>
  );
}
