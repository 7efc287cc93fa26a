/**
 * Deleting a session from the list: ask first (what goes: the worktree folder, the branch
 * unless it has unmerged commits), and ask again, listing them, before uncommitted changes
 * are thrown away. Answers what to show: a notice or an error.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { api, ApiError } from '../api';
import { message } from '../context';
import { ISession, sessionLabel } from '../format';

export async function deleteSession(
  session: ISession,
  trans: TranslationBundle
): Promise<{ notice?: string; error?: string }> {
  const label = sessionLabel(session);
  const where = session.worktree_dir ?? session.worktree_path;
  const first = await showDialog({
    title: trans.__('Delete session “%1”?', label),
    body: (
      <div className="jp-lawless-dialog">
        <p>
          {trans.__('This removes its worktree folder')} <code>{where}</code>.
        </p>
        <p>
          {trans.__(
            'Its branch %1 is deleted too, unless it has commits that %2 does not have: then the branch is kept. A worktree with uncommitted changes is not deleted unless you confirm again.',
            session.branch,
            session.base
          )}
        </p>
      </div>
    ),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({
        label: trans.__('Delete'),
        ariaLabel: trans.__('Delete session %1', label)
      })
    ]
  });
  if (!first.button.accept) {
    return {};
  }
  try {
    return {
      notice: deletedNotice(label, await api.deleteSession(session.id), trans)
    };
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 409 && e.details.uncommitted)) {
      return { error: message(e) };
    }
  }
  let files: string[] = [];
  try {
    const status = await api.status(session.id);
    files = status.files.map((f: any) => `${f.status}: ${f.path}`);
  } catch {
    files = [];
  }
  const second = await showDialog({
    title: trans.__('Uncommitted changes will be lost'),
    body: (
      <div className="jp-lawless-dialog">
        <p>
          {session.branch
            ? trans.__(
                'The worktree of “%1” has changes that were never committed. Deleting anyway throws them away for good, and deletes the branch %2 even if it has unmerged commits.',
                label,
                session.branch
              )
            : trans.__(
                'The worktree of “%1” has changes that were never committed. Deleting anyway throws them away for good.',
                label
              )}
        </p>
        {files.length > 0 && (
          <ul className="jp-lawless-filelist">
            {files.slice(0, 20).map(f => (
              <li key={f}>
                <code>{f}</code>
              </li>
            ))}
            {files.length > 20 && (
              <li>{trans.__('… and %1 more', files.length - 20)}</li>
            )}
          </ul>
        )}
      </div>
    ),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: trans.__('Delete anyway') })
    ]
  });
  if (!second.button.accept) {
    return {};
  }
  try {
    const result = await api.deleteSession(session.id, true);
    return { notice: deletedNotice(label, result, trans) };
  } catch (e) {
    return { error: message(e) };
  }
}

function deletedNotice(
  label: string,
  result: any,
  trans: TranslationBundle
): string {
  if (result?.branch_deleted === false && result?.unmerged_commits > 0) {
    return trans._n(
      'Deleted “%2”. Its branch %3 was kept: it has %1 commit not merged.',
      'Deleted “%2”. Its branch %3 was kept: it has %1 commits not merged.',
      result.unmerged_commits,
      label,
      result.session?.branch
    );
  }
  return trans.__('Deleted “%1”.', label);
}
