import React, { useEffect, useMemo, useRef } from 'react';

import { IAttachment } from '../attachments';
import { ChatActivity, chatActivity } from '../chatTabNames';
import { IPanelContext } from '../context';
import { ISession, workingText } from '../format';
import { useChatStream } from '../hooks/useChatStream';
import { useSettings } from '../hooks/useSettings';
import { useTurns } from '../hooks/useTurns';
import { LiveDocuments } from '../liveDocuments';
import { labDocuments } from '../liveDocumentsLab';
import { fileOpener } from '../openFile';
import { useTrans } from '../translation';
import { Composer } from './Composer';
import { MessageLog } from './MessageLog';

/** The conversation with Claude in a session: the messages, and the box to write in. */
export function ChatView(props: {
  ctx: IPanelContext;
  session: ISession;
  onTurnDone: () => void;
  /** After a rewind: the worktree and the conversation changed, read them again. */
  onRewound: () => void;
  /** After a fork: open the new session. */
  onForked: (session: ISession) => void;
  /** What the chat does now (the main-area tab's header shows it). */
  onActivity?: (activity: ChatActivity) => void;
}): JSX.Element {
  const { ctx, session } = props;
  const settings = useSettings(ctx.controller);
  const trans = useTrans();
  // the notebooks and files open in the lab follow what Claude changes in them
  const live = useMemo(
    () =>
      ctx.docManager
        ? new LiveDocuments(
            labDocuments(ctx.app, ctx.docManager, trans),
            session.worktree_path,
            session.worktree_dir
          )
        : null,
    [session.id]
  );
  const stream = useChatStream(
    session.id,
    ctx.controller,
    props.onTurnDone,
    live
      ? event =>
          void live
            .onEvent(event)
            .catch(e => console.warn('lawless: live documents', e))
      : undefined
  );
  const { chat, loading, busy, reconnecting, stop, answer } = stream;
  const pending = chat.items.filter(
    item => item.kind === 'approval' && item.status === 'pending'
  ).length;
  const activity = chatActivity(busy, pending);
  useEffect(() => props.onActivity?.(activity), [activity]);
  const turns = useTurns(session, busy, {
    onRewound: props.onRewound,
    onForked: props.onForked,
    onError: stream.addError
  });
  const opener = useMemo(
    () => fileOpener(ctx.app, session, stream.addError, trans),
    [session.id]
  );
  // the remembered rules are read again after each "Always allow"
  const answeredAlways = chat.items.filter(
    item => item.kind === 'approval' && item.remember
  ).length;
  // whether the log follows the newest item (the reader is at the bottom)
  const stick = useRef(true);

  const send = async (text: string, attachments: IAttachment[]) => {
    stick.current = true;
    await stream.send(text, attachments);
  };

  return (
    <div className="jp-lawless-chat">
      <MessageLog
        items={chat.items}
        loading={loading}
        busy={busy}
        working={workingText(chat.queued, reconnecting, trans)}
        stick={stick}
        turns={turns.byId}
        turnActions={turns.actions}
        rendermime={ctx.rendermime}
        showThinking={settings.showThinking}
        onAnswer={answer}
        files={opener}
      />
      <Composer
        ctx={ctx}
        session={session}
        settings={settings}
        busy={busy}
        canSend={stream.canSend}
        onSend={send}
        onStop={() => void stop()}
        onError={stream.addError}
        rulesKey={answeredAlways}
      />
    </div>
  );
}
