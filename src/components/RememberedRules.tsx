/**
 * Two self-contained views of Claude's containment for the session panel:
 *
 * - `ApprovalCommand`: the body of an approval card. The command is shown whole (a long
 *   one scrolls, it is never cut), with what "Always allow" would remember and a warning
 *   when the command runs git hooks.
 * - `RememberedRules`: what "Always allow" remembered in the session, each with Forget.
 */
import React, { useCallback, useEffect, useState } from 'react';

import { api } from '../api';
import { jupyterTool } from '../notebookTools';
import {
  alwaysAllowTitle,
  commandText,
  ruleLabel,
  whyAskedEveryTime
} from '../rules';
import { useTrans } from '../translation';

export function ApprovalCommand(props: {
  tool: string;
  input: Record<string, any>;
  /** the event's `rule` (null: it asks every time) */
  rule?: string | null;
  /** the event's `runs_git_hooks` */
  runsGitHooks?: boolean;
  /** the event's `code`: what a call runs when its input does not hold it (a cell) */
  code?: string | null;
}): JSX.Element {
  const trans = useTrans();
  const title = alwaysAllowTitle(props.rule, trans);
  const why = whyAskedEveryTime(props.tool, props.rule, trans);
  const where = props.code
    ? jupyterTool(props.tool, props.input, trans)?.summary
    : null;
  return (
    <div className="jp-lawless-approval-command">
      {where && <div className="jp-lawless-muted">{where}</div>}
      <pre className="jp-lawless-approval-command-text" tabIndex={0}>
        {props.code ?? commandText(props.tool, props.input)}
      </pre>
      {props.runsGitHooks && (
        <div className="jp-lawless-approval-hooks" role="note">
          {trans.__(
            'This runs git hooks of the repository (commit, merge, push…).'
          )}
        </div>
      )}
      {title && (
        <div className="jp-lawless-muted">
          {trans.__('Always allow: %1', ruleLabel(props.rule!, trans))}
        </div>
      )}
      {why && <div className="jp-lawless-muted">{why}</div>}
    </div>
  );
}

export function RememberedRules(props: {
  sessionId: string;
  /** change it (e.g. after an "Always allow") to read the list again */
  refreshKey?: unknown;
  onError: (message: string) => void;
}): JSX.Element | null {
  const { sessionId, onError } = props;
  const trans = useTrans();
  const [rules, setRules] = useState<string[]>([]);

  const load = useCallback(() => {
    api
      .rules(sessionId)
      .then(answer => setRules(answer.rules))
      .catch(error =>
        onError(error instanceof Error ? error.message : String(error))
      );
  }, [sessionId, onError]);

  useEffect(load, [load, props.refreshKey]);

  const forget = async (rule?: string) => {
    try {
      setRules((await api.forgetRule(sessionId, rule)).rules);
    } catch (error) {
      onError(error instanceof Error ? error.message : String(error));
      load();
    }
  };

  if (rules.length === 0) {
    return null;
  }
  return (
    <div
      className="jp-lawless-rules"
      aria-label={trans.__('Always allowed in this session')}
    >
      <div className="jp-lawless-rules-title">
        {trans.__('Always allowed in this session')}
      </div>
      <ul>
        {rules.map(rule => (
          <li key={rule}>
            <span title={rule}>{ruleLabel(rule, trans)}</span>
            <button
              className="jp-mod-styled jp-lawless-button"
              onClick={() => void forget(rule)}
              aria-label={trans.__('Forget %1', rule)}
            >
              {trans.__('Forget')}
            </button>
          </li>
        ))}
      </ul>
      {rules.length > 1 && (
        <button
          className="jp-mod-styled jp-lawless-button"
          onClick={() => void forget()}
        >
          {trans.__('Forget all')}
        </button>
      )}
    </div>
  );
}
