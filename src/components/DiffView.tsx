/**
 * A session's diff, file by file: each file's +/− counts and its lines, coloured by kind.
 */
import React from 'react';

import { parsePatch } from '../format';
import { useTrans } from '../translation';

/** What `GET .../git/diff` answers. */
export interface IDiff {
  against: 'base' | 'head';
  patch?: string;
  files: {
    path: string;
    additions: number;
    deletions: number;
    binary?: boolean;
  }[];
  truncated?: boolean;
}

export function DiffView(props: {
  diff: IDiff;
  /** Opens a notebook's cell-by-cell diff (nbdime) in a main-area tab. */
  onOpenNotebook?: (path: string) => void;
  /** Opens the session's diff tab in the main area, at `path` when given. */
  onOpenTab?: (path?: string) => void;
}): JSX.Element {
  const files = parsePatch(props.diff.patch ?? '');
  const trans = useTrans();
  return (
    <>
      <div className="jp-lawless-listhead">
        <h3>
          {props.diff.against === 'head'
            ? trans.__('Diff against the last commit')
            : trans.__('Diff against the base')}
        </h3>
        {props.onOpenTab && files.length > 0 && (
          <button
            className="jp-lawless-linkbutton"
            onClick={() => props.onOpenTab?.()}
            aria-label={trans.__('Open the whole diff in a tab')}
          >
            {trans.__('Open diff tab')}
          </button>
        )}
      </div>
      {files.length === 0 && (
        <div className="jp-lawless-muted">{trans.__('No differences.')}</div>
      )}
      {files.map(file => {
        const stats = props.diff.files.find(f => f.path === file.path);
        const notebook = props.onOpenNotebook && file.path.endsWith('.ipynb');
        return (
          <details key={file.path} className="jp-lawless-diff" open>
            <summary>
              <code>{file.path}</code>
              {stats && (
                <span className="jp-lawless-diffstat">
                  <span className="jp-lawless-add">+{stats.additions}</span>{' '}
                  <span className="jp-lawless-del">−{stats.deletions}</span>
                </span>
              )}
              {props.onOpenTab && (
                <button
                  className="jp-lawless-linkbutton"
                  onClick={event => {
                    event.preventDefault(); // not a click on the summary
                    props.onOpenTab?.(file.path);
                  }}
                  aria-label={trans.__(
                    'Open the diff of %1 in a tab',
                    file.path
                  )}
                >
                  {trans.__('Open diff')}
                </button>
              )}
            </summary>
            {notebook ? (
              <button
                className="jp-mod-styled jp-lawless-button"
                onClick={() => props.onOpenNotebook?.(file.path)}
                aria-label={trans.__(
                  'Show the cell-by-cell diff of %1',
                  file.path
                )}
              >
                {trans.__('Show cell by cell')}
              </button>
            ) : (
              <pre className="jp-lawless-patch">
                {!file.lines.some(l => l.kind !== 'meta') && (
                  <div className="jp-lawless-line jp-lawless-line-hunk">
                    {stats?.binary
                      ? trans.__('(binary file)')
                      : trans.__('(empty file)')}
                  </div>
                )}
                {file.lines
                  .filter(l => l.kind !== 'meta')
                  .map((l, i) => (
                    <div
                      key={i}
                      className={`jp-lawless-line jp-lawless-line-${l.kind}`}
                    >
                      {l.text || ' '}
                    </div>
                  ))}
              </pre>
            )}
          </details>
        );
      })}
      {props.diff.truncated && (
        <div className="jp-lawless-muted">
          {trans.__('The diff was cut short: it is too large.')}
        </div>
      )}
    </>
  );
}
