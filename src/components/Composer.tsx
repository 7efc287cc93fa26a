import React, { useEffect, useRef, useState } from 'react';

import { api } from '../api';
import {
  dropMention,
  IAttachment,
  matchFiles,
  mentionAt,
  withAttachment
} from '../attachments';
import { attachChoices, IAttachChoice, worktreeFile } from '../attachmentsLab';
import { IPanelContext, IPanelSettings, message } from '../context';
import { ISession } from '../format';
import { PermissionPicker } from '../permissions';
import { useTrans } from '../translation';
import { AttachmentChips, AttachMenu, MentionList } from './Attachments';
import { RememberedRules } from './RememberedRules';

/**
 * The box a person writes to Claude in: the draft, what is attached to it (the Attach
 * menu, or `@` and a file name of the worktree), and the buttons beside it (permission
 * mode, remembered rules, Send or Stop). Sends on the `lawless:send` command too.
 */
export function Composer(props: {
  ctx: IPanelContext;
  session: ISession;
  settings: IPanelSettings;
  busy: boolean;
  /** Whether a message may be sent now (no turn running, the stream ready). */
  canSend: () => boolean;
  onSend: (text: string, attachments: IAttachment[]) => Promise<void>;
  onStop: () => void;
  onError: (text: string) => void;
  /** Changes after each "Always allow": the remembered rules are read again. */
  rulesKey: number;
}): JSX.Element {
  const { ctx, session, settings, busy, onError } = props;
  const trans = useTrans();
  const [draft, setDraft] = useState('');
  const [attached, setAttached] = useState<IAttachment[]>([]);
  const [menu, setMenu] = useState<IAttachChoice[] | null>(null);
  const [caret, setCaret] = useState(0);
  const [files, setFiles] = useState<string[] | null>(null);
  const canMention = !!ctx.docManager && session.worktree_dir !== null;
  const mention = canMention ? mentionAt(draft, caret) : null;
  const matches = mention !== null && files ? matchFiles(files, mention) : [];

  // the worktree's files, read once the person first types an @
  useEffect(() => {
    if (mention !== null && files === null) {
      setFiles([]);
      api
        .files(session.id)
        .then(answer => setFiles(answer.files))
        .catch(e => onError(message(e)));
    }
  }, [mention !== null]);

  const attach = async (load: () => Promise<IAttachment>) => {
    setMenu(null);
    try {
      const attachment = await load();
      setAttached(list => withAttachment(list, attachment));
    } catch (e) {
      onError(message(e));
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
    if (!text || !props.canSend()) {
      return;
    }
    const sending = attached;
    setDraft('');
    setAttached([]);
    await props.onSend(text, sending);
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
  const box = useRef<HTMLTextAreaElement>(null);
  useEffect(
    () =>
      ctx.controller.on('send', () => {
        // the chat whose box has the focus, else the first on screen (the sidebar's
        // and a main-area tab may both be: one sends, not both)
        const mine = box.current;
        const focused = document.activeElement?.closest('.jp-lawless-composer');
        const shown = Array.from(
          document.querySelectorAll<HTMLElement>(
            '.jp-lawless-composer textarea'
          )
        ).find(el => el.offsetParent);
        if (mine && (focused ? focused.contains(mine) : shown === mine)) {
          void sendLatest.current();
        }
      }),
    [ctx.controller]
  );

  return (
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
        ref={box}
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
        <PermissionPicker disabled={busy} onError={onError} />
        <RememberedRules
          sessionId={session.id}
          refreshKey={props.rulesKey}
          onError={onError}
        />
        {busy ? (
          <button
            className="jp-mod-styled jp-mod-warn jp-lawless-button"
            onClick={props.onStop}
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
  );
}
