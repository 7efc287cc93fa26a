/**
 * The composer's attachments: the chips of what goes with the message, the menu of what
 * can be attached, and the files matching an @-mention.
 */
import React from 'react';

import { IAttachment } from '../attachments';
import { IAttachChoice } from '../attachmentsLab';
import { useTrans } from '../translation';

export function AttachmentChips(props: {
  attachments: IAttachment[];
  onRemove: (name: string) => void;
}): JSX.Element | null {
  const trans = useTrans();
  if (!props.attachments.length) {
    return null;
  }
  return (
    <ul className="jp-lawless-chips" aria-label={trans.__('Attachments')}>
      {props.attachments.map(a => (
        <li
          key={a.name}
          className="jp-lawless-chip"
          title={a.text.slice(0, 500)}
        >
          {a.name}
          <button
            className="jp-lawless-chip-remove"
            onClick={() => props.onRemove(a.name)}
            aria-label={trans.__('Remove %1', a.name)}
          >
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}

export function AttachMenu(props: {
  choices: IAttachChoice[];
  onPick: (choice: IAttachChoice) => void;
}): JSX.Element {
  const trans = useTrans();
  return (
    <ul
      className="jp-lawless-attachmenu"
      role="menu"
      aria-label={trans.__('Attach')}
    >
      {props.choices.length === 0 && (
        <li className="jp-lawless-muted">
          {trans.__(
            'Open a notebook or a file to attach it, or type @ and a file name.'
          )}
        </li>
      )}
      {props.choices.map(choice => (
        <li key={choice.label} role="none">
          <button role="menuitem" onClick={() => props.onPick(choice)}>
            {choice.label}
          </button>
        </li>
      ))}
    </ul>
  );
}

export function MentionList(props: {
  matches: string[];
  onPick: (path: string) => void;
}): JSX.Element | null {
  const trans = useTrans();
  if (!props.matches.length) {
    return null;
  }
  return (
    <ul
      className="jp-lawless-attachmenu"
      role="listbox"
      aria-label={trans.__('Worktree files')}
    >
      {props.matches.map((path, i) => (
        <li
          key={path}
          role="option"
          aria-selected={i === 0}
          onMouseDown={e => {
            e.preventDefault(); // keep the caret in the message
            props.onPick(path);
          }}
        >
          {path}
        </li>
      ))}
    </ul>
  );
}
