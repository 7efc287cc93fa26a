import { IRenderMime, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import React, { useEffect, useRef, useState } from 'react';

import { ChatItem, describeUsage, shortInput } from '../chat';
import { jupyterTool } from '../notebookTools';
import { IFileLink } from '../fileLinks';
import { IFileOpener } from '../openFile';
import { useTrans } from '../translation';
import { ITurn } from '../turns';
import { ApprovalCard } from './ApprovalCard';
import { FileLink } from './FileLink';

/** What a turn's menu does (the chat view's; disabled while a turn runs). */
export interface ITurnActions {
  rewind: (turn: ITurn) => void;
  fork: (turn: ITurn) => void;
  disabled: boolean;
}

/** One item of the chat: a message, a tool card, an approval, a usage line. */
export const Item = React.memo(
  (props: {
    item: ChatItem;
    rendermime: IRenderMimeRegistry;
    showThinking: boolean;
    onAnswer: (requestId: string, allow: boolean, remember: boolean) => void;
    /** The turn this user message started (null: not recorded as a checkpoint). */
    turn?: ITurn | null;
    turnActions?: ITurnActions;
    /** Links the files tool cards name (none: plain text). */
    files?: IFileOpener | null;
  }): JSX.Element | null => {
    const { item, turn } = props;
    const trans = useTrans();
    switch (item.kind) {
      case 'user':
        return (
          <div className="jp-lawless-msg jp-lawless-user">
            <div className="jp-lawless-role">
              {trans.__('You')}
              {turn?.rewound && (
                <span
                  className="jp-lawless-rewound-label"
                  title={trans.__(
                    'A rewind undid this turn; Claude no longer sees it'
                  )}
                >
                  {' · '}
                  {trans.__('rewound')}
                </span>
              )}
              {turn && props.turnActions && (
                <TurnMenu turn={turn} actions={props.turnActions} />
              )}
            </div>
            <div className="jp-lawless-usertext">{item.text}</div>
            {item.attachments && (
              <ul
                className="jp-lawless-chips"
                aria-label={trans.__('Attached')}
              >
                {item.attachments.map(name => (
                  <li key={name} className="jp-lawless-chip">
                    {name}
                  </li>
                ))}
              </ul>
            )}
          </div>
        );
      case 'assistant':
        return (
          <div className="jp-lawless-msg jp-lawless-assistant">
            <div className="jp-lawless-role">{trans.__('Claude')}</div>
            <Markdown text={item.text} rendermime={props.rendermime} />
          </div>
        );
      case 'thinking':
        return props.showThinking ? (
          <details className="jp-lawless-thinking">
            <summary>
              {item.streaming ? trans.__('Thinking…') : trans.__('Thinking')}
            </summary>
            <div className="jp-lawless-pre">{item.text}</div>
          </details>
        ) : null;
      case 'tool': {
        const state =
          item.result === null ? 'running' : item.isError ? 'error' : 'done';
        const notebook = jupyterTool(item.name, item.input, trans);
        const file = props.files?.link(item.name, item.input) ?? null;
        return (
          <details className={`jp-lawless-tool jp-lawless-tool-${state}`}>
            <summary>
              <span className="jp-lawless-tool-name" title={item.name}>
                {notebook?.label ?? item.name}
              </span>
              <code className="jp-lawless-tool-input">
                {file && props.files ? (
                  <LinkedSummary
                    file={file}
                    summary={notebook?.summary ?? null}
                    open={props.files.open}
                  />
                ) : (
                  (notebook?.summary ?? shortInput(item.name, item.input))
                )}
              </code>
              {item.runsGitHooks && (
                <span
                  className="jp-lawless-tool-hooks"
                  title={trans.__(
                    'This command runs git hooks of the repository'
                  )}
                >
                  {trans.__('runs git hooks')}
                </span>
              )}
              <span className="jp-lawless-tool-state">
                {state === 'running'
                  ? '…'
                  : state === 'error'
                    ? trans.__('failed')
                    : trans.__('done')}
              </span>
            </summary>
            {notebook?.code !== null && notebook?.code !== undefined ? (
              <pre className="jp-lawless-pre jp-lawless-code">
                {notebook.code}
              </pre>
            ) : (
              <div className="jp-lawless-pre">
                {JSON.stringify(item.input, null, 2)}
              </div>
            )}
            {item.result !== null && (
              <div
                className={`jp-lawless-pre jp-lawless-result${item.isError ? ' jp-mod-error' : ''}`}
              >
                {item.result || trans.__('(no output)')}
              </div>
            )}
            {item.images?.map((image, i) => (
              <img
                key={i}
                className="jp-lawless-result-image"
                alt={trans.__('Image %1 of the result', i + 1)}
                src={`data:${image.mediaType};base64,${image.data}`}
              />
            ))}
          </details>
        );
      }
      case 'approval':
        return (
          <ApprovalCard
            item={item}
            onAnswer={props.onAnswer}
            files={props.files}
          />
        );
      case 'usage':
        return (
          <div className="jp-lawless-usage">{describeUsage(item, trans)}</div>
        );
      case 'error':
        return (
          <div className="jp-lawless-error" role="alert">
            {item.say ? item.say(trans) : item.message}
          </div>
        );
      case 'notice':
        return (
          <div className="jp-lawless-notice">
            {item.say ? item.say(trans) : item.text}
          </div>
        );
      default:
        return null;
    }
  }
);

/** A turn's menu: rewind to before it, or fork a new session from there. */
function TurnMenu(props: { turn: ITurn; actions: ITurnActions }): JSX.Element {
  const [open, setOpen] = useState(false);
  const { turn, actions } = props;
  const trans = useTrans();
  const act = (what: (turn: ITurn) => void) => () => {
    setOpen(false);
    what(turn);
  };
  return (
    <span className="jp-lawless-turnmenu">
      <button
        className="jp-lawless-linkbutton jp-lawless-turnmenu-toggle"
        aria-label={trans.__('Actions for turn %1', turn.number)}
        aria-expanded={open}
        title={trans.__('Rewind or fork')}
        disabled={actions.disabled}
        onClick={() => setOpen(!open)}
      >
        ⋯
      </button>
      {open && !actions.disabled && (
        <span className="jp-lawless-turnmenu-items" role="menu">
          <button
            role="menuitem"
            className="jp-lawless-linkbutton"
            title={trans.__(
              'Files, index, branch and conversation as they were before this turn'
            )}
            onClick={act(actions.rewind)}
          >
            {trans.__('Rewind to before this')}
          </button>
          <button
            role="menuitem"
            className="jp-lawless-linkbutton"
            title={trans.__(
              'A new session starting as things were before this turn; this one stays as it is'
            )}
            onClick={act(actions.fork)}
          >
            {trans.__('Fork from here')}
          </button>
        </span>
      )}
    </span>
  );
}

/**
 * A card's one line with its file as a link: only the file's name is the link (a click
 * elsewhere on the line opens the card); `file:line` when the line is known.
 */
function LinkedSummary(props: {
  file: IFileLink;
  summary: string | null;
  open: (link: IFileLink) => void;
}): JSX.Element {
  const { file, summary } = props;
  const named = file.line ? `${file.label}:${file.line}` : file.label;
  // a notebook tool's line is `<path> · <cell>`: the path is the link, the cell follows
  const at = summary?.indexOf(' · ') ?? -1;
  const rest = summary && at >= 0 ? summary.slice(at) : '';
  return (
    <>
      <FileLink link={file} open={props.open}>
        {named}
      </FileLink>
      {rest}
    </>
  );
}

/**
 * Markdown through JupyterLab's rendermime (sanitized, untrusted). Only this block renders
 * when its text grows; renders never overlap, the newest text wins.
 */
export function Markdown(props: {
  text: string;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const renderer = useRef<IRenderMime.IRenderer | null>(null);
  const busy = useRef(false);
  const pending = useRef<string | null>(null);

  useEffect(() => {
    const r = props.rendermime.createRenderer('text/markdown');
    renderer.current = r;
    host.current?.appendChild(r.node);
    return () => {
      renderer.current = null;
      r.dispose();
    };
  }, []);

  useEffect(() => {
    const render = async (text: string) => {
      busy.current = true;
      try {
        const model = props.rendermime.createModel({
          data: { 'text/markdown': text },
          trusted: false
        });
        await renderer.current?.renderModel(model);
      } catch {
        if (host.current) {
          host.current.textContent = text;
        }
      } finally {
        busy.current = false;
      }
      const next = pending.current;
      pending.current = null;
      if (next !== null && renderer.current) {
        await render(next);
      }
    };
    if (busy.current) {
      pending.current = props.text;
    } else {
      void render(props.text);
    }
  }, [props.text]);

  return <div className="jp-lawless-markdown" ref={host} />;
}
