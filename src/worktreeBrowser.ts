/**
 * "Open worktree": the lab's file browser moves into a session's worktree. A session on a
 * remote worker has its files on that machine, and a worktree outside Jupyter's root is
 * out of the file browser's reach: both are said instead.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { TranslationBundle } from '@jupyterlab/translation';

import { worktreeProblem } from './fileLinks';
import { ISession } from './format';

/** Move the default file browser into the worktree and show it (or say why not). */
export async function openWorktree(
  app: JupyterFrontEnd,
  browser: IDefaultFileBrowser | null,
  session: ISession,
  trans: TranslationBundle
): Promise<void> {
  const problem = worktreeProblem(session, trans);
  if (problem || !browser || session.worktree_dir === null) {
    Notification.warning(
      problem ?? trans.__('There is no file browser to open it in.'),
      { autoClose: 8000 }
    );
    return;
  }
  await browser.model.cd(`/${session.worktree_dir}`);
  app.shell.activateById(browser.id);
}
