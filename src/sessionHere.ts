/**
 * "New Claude session here": a session started on a folder of the file browser (its
 * context menu) or on the folder it shows (a Launcher tile). The session opens as a
 * main-area chat; a folder that is not a git repository gets the server's answer.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';

import { api } from './api';
import { OPEN_CHAT } from './chatTabs';
import { IPanelContext, message } from './context';
import { lawlessIcon } from './icon';

export const NEW_SESSION_HERE = 'lawless:new-session-here';

/** A file browser path without its drive name (`RTC:a/b` -> `a/b`). */
export function withoutDrive(path: string): string {
  const colon = path.indexOf(':');
  return colon >= 0 ? path.slice(colon + 1) : path;
}

/**
 * The folder the command means: the one named (`path`; the Launcher passes its `cwd`),
 * else the folder selected in the file browser, else the one it shows.
 */
function folderOf(
  browser: IDefaultFileBrowser | null,
  args: { [key: string]: unknown }
): string {
  const named = args.path ?? args.cwd;
  if (typeof named === 'string') {
    return withoutDrive(named);
  }
  if (args.selected && browser) {
    const item = browser.selectedItems().next();
    if (!item.done && item.value?.type === 'directory') {
      return item.value.path;
    }
  }
  return withoutDrive(browser?.model.path ?? '');
}

export function setupSessionHere(
  app: JupyterFrontEnd,
  ctx: IPanelContext,
  launcher: ILauncher | null
): void {
  const { trans } = ctx;
  app.commands.addCommand(NEW_SESSION_HERE, {
    label: args =>
      args.selected
        ? trans.__('New Claude Session Here')
        : args.cwd !== undefined
          ? trans.__('Claude Session') // a Launcher tile, under its "Other" heading
          : trans.__("New Claude Session in the File Browser's Folder"),
    caption: trans.__(
      'Start a workspace session with Claude on this git repository'
    ),
    icon: lawlessIcon,
    execute: async args => {
      const repo = folderOf(ctx.browser, args);
      try {
        const { session } = await api.createSession({ repo });
        ctx.controller.emit('refresh');
        await app.commands.execute(OPEN_CHAT, { session: session.id });
      } catch (e) {
        Notification.error(
          trans.__('No session started in “%1”: %2', repo || '/', message(e)),
          { autoClose: false }
        );
      }
    }
  });

  app.contextMenu.addItem({
    command: NEW_SESSION_HERE,
    args: { selected: true },
    selector: '.jp-DirListing-item[data-isdir="true"]',
    rank: 60
  });

  launcher?.add({
    command: NEW_SESSION_HERE,
    category: 'Other',
    rank: 10
  });
}
