/**
 * Remote sessions' terminal tabs as JupyterLab citizens: the `lawless:open-remote-terminal
 * {session, name?}` command (no name: a new terminal), a WidgetTracker of its own the
 * layout restorer reopens them by after a reload, over the session's terminal bridge (the
 * lab's own terminal tracker never sees them, so a reload never opens a local terminal).
 * A tab whose session or terminal is gone is not restored.
 */
import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { WidgetTracker } from '@jupyterlab/apputils';

import { api } from './api';
import { IPanelContext } from './context';
import { remoteWorker } from './format';
import {
  RemoteTerminalWidget,
  remoteTerminalId,
  remoteTerminalWidget
} from './remoteTerminal';

export const OPEN_REMOTE_TERMINAL = 'lawless:open-remote-terminal';

/** The tracker's namespace (the layout restorer keys restored tabs by it). */
export const REMOTE_TERMINAL_NAMESPACE = 'lawless-remote-terminal';

export function setupRemoteTerminals(
  app: JupyterFrontEnd,
  ctx: IPanelContext,
  restorer: ILayoutRestorer | null
): WidgetTracker<RemoteTerminalWidget> {
  const tracker = new WidgetTracker<RemoteTerminalWidget>({
    namespace: REMOTE_TERMINAL_NAMESPACE
  });
  const { trans } = ctx;

  app.commands.addCommand(OPEN_REMOTE_TERMINAL, {
    label: trans.__('Open a Terminal of the Remote Session'),
    caption: trans.__("A terminal in the session's worktree, on its worker"),
    execute: async args => {
      const sessionId = String(args.session ?? '');
      const name = args.name ? String(args.name) : undefined;
      const existing = name
        ? tracker.find(w => w.id === remoteTerminalId(sessionId, name))
        : undefined;
      if (existing) {
        app.shell.activateById(existing.id);
        return existing;
      }
      // throws when the session is gone (404): a restored tab is then dropped
      const { session } = await api.getSession(sessionId);
      const worker = remoteWorker(session);
      if (!worker) {
        throw new Error(
          trans.__('The session %1 does not run on a worker.', sessionId)
        );
      }
      if (name) {
        const { terminals } = await api.listTerminals(sessionId);
        if (!terminals.some(t => t.name === name && t.running)) {
          throw new Error(
            trans.__('The terminal %1 of the session has ended.', name)
          );
        }
      }
      const widget = await remoteTerminalWidget({
        sessionId,
        worker,
        name,
        settingRegistry: ctx.settingRegistry,
        themeManager: ctx.themeManager,
        trans
      });
      void tracker.add(widget);
      if (!widget.isAttached) {
        app.shell.add(widget, 'main');
      }
      app.shell.activateById(widget.id);
      return widget;
    }
  });

  restorer?.restore(tracker, {
    command: OPEN_REMOTE_TERMINAL,
    args: widget => ({
      session: widget.remote.sessionId,
      name: widget.remote.name
    }),
    name: widget => `${widget.remote.sessionId}:${widget.remote.name}`
  });
  return tracker;
}
