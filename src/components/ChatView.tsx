import { Dialog, showDialog } from '@jupyterlab/apputils';
import React, {
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState
} from 'react';

import { api } from '../api';
import {
  dropMention,
  IAttachment,
  matchFiles,
  mentionAt,
  withAttachment
} from '../attachments';
import { attachChoices, IAttachChoice, worktreeFile } from '../attachmentsLab';
import { ChatActivity, chatActivity } from '../chatTabNames';
import { IPanelContext, message } from '../context';
import { ISession, workingText } from '../format';
import { useChatStream } from '../hooks/useChatStream';
import { useSettings } from '../hooks/useSettings';
import { LiveDocuments } from '../liveDocuments';
import { fileOpener } from '../openFile';
import { labDocuments } from '../liveDocumentsLab';
import { PermissionPicker } from '../permissions';
import { useTrans } from '../translation';
import { ITurn, rewindQuestion, turnsById } from '../turns';
import { AttachmentChips, AttachMenu, MentionList } from './Attachments';
import { Item, ITurnActions } from './ChatItem';
import { RememberedRules } from './RememberedRules';

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
  const [turns, setTurns] = useState<ITurn[]>([]);
  const [acting, setActing] = useState(false);

  // the turns (checkpoints) behind the user messages, read again after each turn
  useEffect(() => {
    if (busy) {
      return;
    }
    let current = true;
    api
      .turns(session.id)
      .then(body => current && setTurns(body.turns))
      .catch(() => undefined); // the menus wait for the next read
    return () => {
      current = false;
    };
  }, [session.id, busy]);
  const byId = useMemo(() => turnsById(turns), [turns]);

  const rewind = useCallback(
    async (turn: ITurn) => {
      const answer = await showDialog({
        title: trans.__('Rewind to before turn %1?', turn.number),
        body: rewindQuestion(turn, trans),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.warnButton({ label: trans.__('Rewind') })
        ]
      });
      if (!answer.button.accept) {
        return;
      }
      setActing(true);
      try {
        await api.rewind(session.id, turn.id);
        props.onRewound();
      } catch (error) {
        stream.addError(message(error));
      } finally {
        setActing(false);
      }
    },
    [session.id]
  );

  const fork = useCallback(
    async (turn: ITurn) => {
      setActing(true);
      try {
        const { session: forked } = await api.fork(session.id, {
          turn: turn.id
        });
        props.onForked(forked);
      } catch (error) {
        stream.addError(message(error));
        setActing(false);
      }
    },
    [session.id]
  );

  const turnActions: ITurnActions = useMemo(
    () => ({
      rewind: turn => void rewind(turn),
      fork: turn => void fork(turn),
      disabled: busy || acting
    }),
    [rewind, fork, busy, acting]
  );
  const opener = useMemo(
    () => fileOpener(ctx.app, session, stream.addError, trans),
    [session.id]
  );
  const [draft, setDraft] = useState('');
  const [attached, setAttached] = useState<IAttachment[]>([]);
  const [menu, setMenu] = useState<IAttachChoice[] | null>(null);
  const [caret, setCaret] = useState(0);
  const [files, setFiles] = useState<string[] | null>(null);
  const canMention = !!ctx.docManager && session.worktree_dir !== null;
  const mention = canMention ? mentionAt(draft, caret) : null;
  const matches = mention !== null && files ? matchFiles(files, mention) : [];
  const list = useRef<HTMLDivElement>(null);
  // the remembered rules are read again after each "Always allow"
  const answeredAlways = chat.items.filter(
    item => item.kind === 'approval' && item.remember
  ).length;
  const stick = useRef(true);

  // keep the newest at the bottom in view while the reader is at the bottom
  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [chat.items]);

  // the worktree's files, read once the person first types an @
  useEffect(() => {
    if (mention !== null && files === null) {
      setFiles([]);
      api
        .files(session.id)
        .then(answer => setFiles(answer.files))
        .catch(e => stream.addError(message(e)));
    }
  }, [mention !== null]);

  const attach = async (load: () => Promise<IAttachment>) => {
    setMenu(null);
    try {
      const attachment = await load();
      setAttached(list => withAttachment(list, attachment));
    } catch (e) {
      stream.addError(message(e));
    }
  };

  const pickMention = (path: string) => {
    const rest = dropMention(draft, caret);
    setDraft(rest.draft);
    setCaret(rest.caret);
    if (ctx.docManager && session.worktree_dir !== null) {
      const [docs, dir] = [ctx.docManager, session.worktree_dir];
      void attach(() => worktreeFile(docs, dir, path));
    }
  };

  const send = async () => {
    const text = draft.trim();
    if (!text || !stream.canSend()) {
      return;
    }
    const sending = attached;
    setDraft('');
    setAttached([]);
    stick.current = true;
    await stream.send(text, sending);
  };

  // Ctrl/Cmd+Enter is the `lawless:send` command's shortcut (schema/plugin.json: a person
  // may change it); plain Enter sends here when the setting says so
  const onKeyDown = (event: React.KeyboardEvent<HTMLTextAreaElement>) => {
    if (
      matches.length &&
      (event.key === 'Enter' || event.key === 'Tab') &&
      !event.nativeEvent.isComposing
    ) {
      event.preventDefault(); // the first file shown is the one taken
      pickMention(matches[0]);
      return;
    }
    const plain = !(event.shiftKey || event.ctrlKey || event.metaKey);
    if (
      event.key === 'Enter' &&
      plain &&
      settings.enterToSend &&
      !event.nativeEvent.isComposing
    ) {
      event.preventDefault();
      void send();
    }
  };
  const sendLatest = useRef(send);
  sendLatest.current = send;
  const composer = useRef<HTMLTextAreaElement>(null);
  useEffect(
    () =>
      ctx.controller.on('send', () => {
        // the chat whose box has the focus, else the first on screen (the sidebar's
        // and a main-area tab may both be: one sends, not both)
        const box = composer.current;
        const focused = document.activeElement?.closest('.jp-lawless-composer');
        const shown = Array.from(
          document.querySelectorAll<HTMLElement>(
            '.jp-lawless-composer textarea'
          )
        ).find(el => el.offsetParent);
        if (box && (focused ? focused.contains(box) : shown === box)) {
          void sendLatest.current();
        }
      }),
    [ctx.controller]
  );

  return (
    <div className="jp-lawless-chat">
      <div
        className="jp-lawless-messages"
        ref={list}
        role="log"
        aria-live="polite"
        aria-label={trans.__('Conversation with Claude')}
        aria-busy={busy}
        tabIndex={0}
        onScroll={() => {
          const el = list.current;
          if (el) {
            stick.current =
              el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          }
        }}
      >
        {loading && (
          <div className="jp-lawless-muted">
            {trans.__('Loading the conversation…')}
          </div>
        )}
        {!loading && chat.items.length === 0 && (
          <div className="jp-lawless-muted jp-lawless-empty">
            {trans.__(
              'Ask Claude to do something in this worktree. Edits inside it are allowed; shell commands ask you first.'
            )}
          </div>
        )}
        {chat.items.map(item => {
          const turn = item.turnId ? byId.get(item.turnId) : undefined;
          const shown = (
            <Item
              key={item.key}
              item={item}
              rendermime={ctx.rendermime}
              showThinking={settings.showThinking}
              onAnswer={answer}
              turn={item.kind === 'user' ? (turn ?? null) : null}
              turnActions={turnActions}
              files={opener}
            />
          );
          // a turn a rewind undid stays in the history, dimmed: Claude no longer sees it
          return turn?.rewound ? (
            <div key={item.key} className="jp-lawless-rewound">
              {shown}
            </div>
          ) : (
            shown
          );
        })}
        {busy && (
          <div className="jp-lawless-working" role="status">
            {workingText(chat.queued, reconnecting, trans)}
          </div>
        )}
      </div>
      <div className="jp-lawless-composer">
        <AttachmentChips
          attachments={attached}
          onRemove={name =>
            setAttached(list => list.filter(a => a.name !== name))
          }
        />
        <MentionList matches={matches} onPick={pickMention} />
        {menu && (
          <AttachMenu
            choices={menu}
            onPick={choice => void attach(choice.load)}
          />
        )}
        <textarea
          ref={composer}
          className="jp-mod-styled"
          value={draft}
          rows={3}
          placeholder={
            settings.enterToSend
              ? trans.__('Message Claude (Enter sends, Shift+Enter: new line)')
              : trans.__('Message Claude (Ctrl+Enter sends)')
          }
          aria-label={trans.__('Message to Claude')}
          onChange={e => {
            setDraft(e.target.value);
            setCaret(e.target.selectionStart ?? e.target.value.length);
          }}
          onSelect={e => setCaret(e.currentTarget.selectionStart ?? 0)}
          onKeyDown={onKeyDown}
        />
        <div className="jp-lawless-composer-buttons">
          <button
            className="jp-mod-styled jp-lawless-button"
            aria-haspopup="menu"
            aria-expanded={menu !== null}
            onClick={() =>
              setMenu(
                menu
                  ? null
                  : attachChoices(
                      ctx.app,
                      ctx.docManager,
                      ctx.notebooks,
                      session.worktree_dir,
                      trans
                    )
              )
            }
            title={trans.__(
              'Attach the active notebook, its selected cells or an open file; or type @ and a file name'
            )}
          >
            {trans.__('Attach')}
          </button>
          <PermissionPicker disabled={busy} onError={stream.addError} />
          <RememberedRules
            sessionId={session.id}
            refreshKey={answeredAlways}
            onError={stream.addError}
          />
          {busy ? (
            <button
              className="jp-mod-styled jp-mod-warn jp-lawless-button"
              onClick={() => void stop()}
              aria-label={trans.__('Stop the running turn')}
            >
              {trans.__('Stop')}
            </button>
          ) : (
            <button
              className="jp-mod-styled jp-mod-accept jp-lawless-button"
              onClick={() => void send()}
              disabled={!draft.trim()}
              aria-label={trans.__('Send the message')}
            >
              {trans.__('Send')}
            </button>
          )}
        </div>
      </div>
    </div>
  );
}
