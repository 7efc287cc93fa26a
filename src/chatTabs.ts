/**
 * Main-area chats: the `lawless:open-chat {session}` command (one tab per session: opening
 * it again shows the tab there is), a WidgetTracker the layout restorer restores them by,
 * and their closing when their session is gone from the list. Also `lawless:open-worktree
 * {session}`, which the tabs and the sidebar offer.
 */
import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import {
  MainAreaWidget,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';

import { api } from './api';
import { ChatTabContent, createChatTab } from './chatTab';
import { CHAT_NAMESPACE, goneSessions } from './chatTabNames';
import { IPanelContext, message } from './context';
import { ISession } from './format';
import { lawlessIcon } from './icon';
import { openWorktree } from './worktreeBrowser';

export const OPEN_CHAT = 'lawless:open-chat';
export const OPEN_WORKTREE = 'lawless:open-worktree';

export function setupChatTabs(
  app: JupyterFrontEnd,
  ctx: IPanelContext,
  restorer: ILayoutRestorer | null
): WidgetTracker<MainAreaWidget<ChatTabContent>> {
  const tracker = new WidgetTracker<MainAreaWidget<ChatTabContent>>({
    namespace: CHAT_NAMESPACE
  });
  const { trans } = ctx;
  const showWorktree = (session: ISession) =>
    void openWorktree(app, ctx.browser, session, trans);

  app.commands.addCommand(OPEN_CHAT, {
    label: args =>
      args.session
        ? trans.__('Open the Chat in the Main Area')
        : trans.__('Open a Session Chat'),
    caption: trans.__("A session's chat as a tab, to place beside a notebook"),
    icon: lawlessIcon,
    execute: async args => {
      const id = String(args.session ?? '');
      if (!id) {
        return;
      }
      const existing = tracker.find(w => w.content.sessionId === id);
      if (existing) {
        app.shell.activateById(existing.id);
        return existing;
      }
      const widget = createChatTab(ctx, id, showWorktree);
      void tracker.add(widget);
      if (!widget.isAttached) {
        app.shell.add(widget, 'main');
      }
      app.shell.activateById(widget.id);
      return widget;
    }
  });

  app.commands.addCommand(OPEN_WORKTREE, {
    label: trans.__('Open the Worktree in the File Browser'),
    caption: trans.__("Show the session's worktree in the file browser"),
    execute: async args => {
      try {
        const { session } = await api.getSession(String(args.session ?? ''));
        await openWorktree(app, ctx.browser, session, trans);
      } catch (e) {
        Notification.error(message(e), { autoClose: 8000 });
      }
    }
  });

  restorer?.restore(tracker, {
    command: OPEN_CHAT,
    args: widget => ({ session: widget.content.sessionId }),
    name: widget => widget.content.sessionId
  });

  // a session deleted (or gone while the page was away) takes its tab with it; the
  // others' headers follow their session (its name, its state)
  ctx.controller.on('sessions', () => {
    const open: string[] = [];
    tracker.forEach(w => void open.push(w.content.sessionId));
    for (const id of goneSessions(open, ctx.controller.sessions)) {
      tracker.find(w => w.content.sessionId === id)?.close();
    }
    for (const session of ctx.controller.sessions ?? []) {
      tracker
        .find(w => w.content.sessionId === session.id)
        ?.content.updateSession(session);
    }
  });
  return tracker;
}
