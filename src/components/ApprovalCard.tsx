/**
 * Claude asks before a tool use: what it wants to run, and Allow / Deny / Always allow; once
 * answered (here, in another tab, or by the timeout), what was decided.
 */
import React from 'react';

import { ChatItem } from '../chat';
import { jupyterTool } from '../notebookTools';
import { alwaysAllowTitle, ruleLabel } from '../rules';
import { IFileOpener } from '../openFile';
import { useTrans } from '../translation';
import { FileLink } from './FileLink';
import { ApprovalCommand } from './RememberedRules';

type Approval = Extract<ChatItem, { kind: 'approval' }>;

export function ApprovalCard(props: {
  item: Approval;
  onAnswer: (requestId: string, allow: boolean, remember: boolean) => void;
  files?: IFileOpener | null;
}): JSX.Element {
  const { item } = props;
  const trans = useTrans();
  const file = props.files?.link(item.tool, item.input) ?? null;
  return (
    <div
      className={`jp-lawless-approval jp-lawless-approval-${item.status}`}
      role="group"
      aria-label={trans.__('Permission request for %1', item.tool)}
    >
      <div>
        {trans.__('Claude wants to use')}{' '}
        <strong title={item.tool}>
          {jupyterTool(item.tool, item.input, trans)?.label ?? item.tool}
        </strong>
        {trans.__(':')}
      </div>
      <ApprovalCommand
        tool={item.tool}
        input={item.input}
        rule={item.rule ?? null}
        runsGitHooks={item.runsGitHooks}
        code={item.code ?? null}
      />
      {file && props.files && (
        <div className="jp-lawless-approval-file">
          {trans.__('File:')} <FileLink link={file} open={props.files.open} />
        </div>
      )}
      {item.status === 'pending' ? (
        <div className="jp-lawless-approval-buttons">
          <button
            className="jp-mod-styled jp-mod-accept jp-lawless-button"
            onClick={() => props.onAnswer(item.requestId, true, false)}
          >
            {trans.__('Allow')}
          </button>
          <button
            className="jp-mod-styled jp-mod-reject jp-lawless-button"
            onClick={() => props.onAnswer(item.requestId, false, false)}
          >
            {trans.__('Deny')}
          </button>
          {item.rule && (
            <button
              className="jp-mod-styled jp-lawless-button"
              onClick={() => props.onAnswer(item.requestId, true, true)}
              title={alwaysAllowTitle(item.rule, trans) ?? undefined}
            >
              {trans.__('Always allow')}
            </button>
          )}
        </div>
      ) : (
        <div className="jp-lawless-muted">
          {item.status === 'allowed'
            ? item.remember
              ? trans.__(
                  'Allowed (always for %1)',
                  item.rule ? ruleLabel(item.rule, trans) : item.tool
                )
              : trans.__('Allowed')
            : item.status === 'denied'
              ? trans.__('Denied')
              : trans.__('No answer in time: denied')}
        </div>
      )}
    </div>
  );
}
