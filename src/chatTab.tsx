/**
 * A session's chat as a main-area tab (beside a notebook, split, dragged like any tab):
 * the same ChatView as the sidebar's, reading the session afresh. A session that no longer
 * exists (deleted while the tab was closed, then restored) says so, with Close.
 */
import { MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import React, { useEffect, useState } from 'react';

import { api, ApiError } from './api';
import { ChatView } from './components/ChatView';
import { IPanelContext, message } from './context';
import { ChatActivity, chatTabId, chatTabTitle } from './chatTabNames';
import { ISession } from './format';
import { SessionTitle } from './components/SessionTitle';
import { lawlessIcon } from './icon';
import { TranslationContext, useTrans } from './translation';

export class ChatTabContent extends ReactWidget {
  private session: ISession | null = null;
  private activity: ChatActivity = 'idle';

  constructor(
    private readonly ctx: IPanelContext,
    readonly sessionId: string,
    private readonly onOpenWorktree: (session: ISession) => void
  ) {
    super();
    this.addClass('jp-lawless-panel'); // the sidebar's look
    this.addClass('jp-lawless-chattab');
    this.showState();
  }

  /** The session as listed again (renamed, closing): the header follows. */
  updateSession(session: ISession): void {
    this.session = session;
    this.showState();
  }

  /** The header (the MainAreaWidget's tab mirrors its content's title). */
  private showState(): void {
    const title = chatTabTitle(
      this.session,
      this.sessionId,
      this.activity,
      this.ctx.trans
    );
    this.title.label = title.label;
    this.title.caption = title.caption;
    this.title.className = title.className;
  }

  render(): JSX.Element {
    return (
      <TranslationContext.Provider value={this.ctx.trans}>
        <SessionChat
          ctx={this.ctx}
          sessionId={this.sessionId}
          onSession={session => this.updateSession(session)}
          onActivity={activity => {
            this.activity = activity;
            this.showState();
          }}
          onOpenWorktree={this.onOpenWorktree}
          onClose={() => this.parent?.close()}
        />
      </TranslationContext.Provider>
    );
  }
}

function SessionChat(props: {
  ctx: IPanelContext;
  sessionId: string;
  onSession: (session: ISession) => void;
  onActivity: (activity: ChatActivity) => void;
  onOpenWorktree: (session: ISession) => void;
  onClose: () => void;
}): JSX.Element {
  const [session, setSession] = useState<ISession | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [rewinds, setRewinds] = useState(0); // a rewind reads the chat afresh
  const trans = useTrans();

  useEffect(() => {
    api
      .getSession(props.sessionId)
      .then(({ session }) => {
        setSession(session);
        props.onSession(session);
      })
      .catch(e =>
        setProblem(
          e instanceof ApiError && e.status === 404
            ? trans.__('This session no longer exists: it was deleted.')
            : message(e)
        )
      );
  }, [props.sessionId]);

  if (problem) {
    return (
      <div className="jp-lawless-chattab-gone" role="alert">
        <p>{problem}</p>
        <button
          className="jp-mod-styled jp-lawless-button"
          onClick={props.onClose}
        >
          {trans.__('Close')}
        </button>
      </div>
    );
  }
  if (!session) {
    return (
      <div className="jp-lawless-muted">{trans.__('Loading the session…')}</div>
    );
  }
  return (
    <div className="jp-lawless-root jp-lawless-session">
      <div className="jp-lawless-sessionbar">
        <SessionTitle session={session} />
        <button
          className="jp-lawless-linkbutton"
          onClick={() => props.onOpenWorktree(session)}
          title={trans.__('Show the worktree in the file browser')}
        >
          {trans.__('Open worktree')}
        </button>
      </div>
      <ChatView
        key={`${session.id}-${rewinds}`}
        ctx={props.ctx}
        session={session}
        onTurnDone={() => {}}
        onRewound={() => setRewinds(n => n + 1)}
        onActivity={props.onActivity}
        onForked={forked => {
          props.ctx.controller.emit('sessionsChanged'); // the sidebar lists the fork
          // chatTabs.ts's OPEN_CHAT (imported there: it imports this module)
          void props.ctx.app.commands.execute('lawless:open-chat', {
            session: forked.id
          });
        }}
      />
    </div>
  );
}

/** A new tab for the session's chat. */
export function createChatTab(
  ctx: IPanelContext,
  sessionId: string,
  onOpenWorktree: (session: ISession) => void
): MainAreaWidget<ChatTabContent> {
  const content = new ChatTabContent(ctx, sessionId, onOpenWorktree);
  const widget = new MainAreaWidget({ content });
  widget.id = chatTabId(sessionId);
  widget.title.icon = lawlessIcon;
  widget.title.closable = true;
  return widget;
}
