/**
 * The panel's error and notice lines, one way everywhere: an error is an alert (read out
 * at once), a notice a status (read out when the reader is idle). Nothing when empty.
 */
import React from 'react';

export function Alerts(props: {
  error?: string | null;
  notice?: string | null;
}): JSX.Element | null {
  if (!props.error && !props.notice) {
    return null;
  }
  return (
    <>
      {props.error && (
        <div className="jp-lawless-error" role="alert">
          {props.error}
        </div>
      )}
      {props.notice && (
        <div className="jp-lawless-notice" role="status">
          {props.notice}
        </div>
      )}
    </>
  );
}
