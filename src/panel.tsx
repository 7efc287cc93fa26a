/**
 * The left sidebar panel: sessions, and for the open session its chat, changes, terminal.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IRenderMime, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IStateDB } from '@jupyterlab/statedb';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, {
  useCallback,
  useEffect,
  useLayoutEffect,
  useRef,
  useState
} from 'react';

import { api, ApiError, attachTurn, sendMessage } from './api';
import {
  addError,
  addUserMessage,
  answerApproval,
  applyEvents,
  ChatBatcher,
  ChatItem,
  describeUsage,
  emptyChat,
  fromHistory,
  IChatState,
  IHistoryRow,
  keepPending,
  mergeHistory,
  settleTurn,
  shortInput
} from './chat';
import { ConnectionsView, GitHubActions } from './connections';
import { age, ISession, parsePatch, sessionLabel } from './format';
import {
  continues,
  IStorageLike,
  resumeState,
  shouldReattach,
  TurnKeeper,
  TurnReaders
} from './reattach';
import { PermissionPicker } from './permissions';
import { FollowResult } from './sse';

export const STATE_KEY = 'lawless-jupyter:panel';

export interface IPanelSettings {
  enterToSend: boolean;
  showThinking: boolean;
  diffAgainst: 'base' | 'head';
}

export const DEFAULT_SETTINGS: IPanelSettings = {
  enterToSend: true,
  showThinking: true,
  diffAgainst: 'base'
};

type Listener = () => void;

/** What the commands ask of the panel, and what they need to know about it. */
export class PanelController {
  settings: IPanelSettings = { ...DEFAULT_SETTINGS };
  running = false;
  private listeners: { [name: string]: Set<Listener> } = {};

  on(
    name: 'newSession' | 'stop' | 'settings' | 'running',
    fn: Listener
  ): () => void {
    (this.listeners[name] ??= new Set()).add(fn);
    return () => this.listeners[name].delete(fn);
  }

  emit(name: 'newSession' | 'stop' | 'settings' | 'running'): void {
    this.listeners[name]?.forEach(fn => fn());
  }
}

export interface IPanelContext {
  app: JupyterFrontEnd;
  rendermime: IRenderMimeRegistry;
  browser: IDefaultFileBrowser | null;
  state: IStateDB | null;
  controller: PanelController;
}

export class LawlessPanel extends ReactWidget {
  constructor(private readonly ctx: IPanelContext) {
    super();
    this.addClass('jp-lawless-panel');
  }

  render(): JSX.Element {
    return <Panel ctx={this.ctx} />;
  }
}

const message = (error: unknown): string =>
  error instanceof ApiError
    ? error.message
    : error instanceof Error
      ? error.message
      : String(error);

function useSettings(controller: PanelController): IPanelSettings {
  const [settings, setSettings] = useState(controller.settings);
  useEffect(
    () =>
      controller.on('settings', () => setSettings({ ...controller.settings })),
    [controller]
  );
  return settings;
}

// -- the panel --------------------------------------------------------------------------------

type Tab = 'chat' | 'changes' | 'terminal' | 'connections';

function Panel({ ctx }: { ctx: IPanelContext }): JSX.Element {
  const [sessions, setSessions] = useState<ISession[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [openId, setOpenId] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>('chat');
  const [restored, setRestored] = useState(false);

  const refresh = useCallback(async () => {
    try {
      const { sessions } = await api.listSessions();
      setSessions(sessions);
      setListError(null);
      return sessions;
    } catch (error) {
      setListError(message(error));
      return null;
    }
  }, []);

  useEffect(() => {
    void (async () => {
      const saved = (await ctx.state?.fetch(STATE_KEY).catch(() => null)) as {
        session?: string;
        tab?: Tab;
      } | null;
      const list = await refresh();
      if (saved?.session && list?.some(s => s.id === saved.session)) {
        setOpenId(saved.session);
        setTab(saved.tab ?? 'chat');
      }
      setRestored(true);
    })();
  }, []);

  useEffect(() => {
    if (restored) {
      void ctx.state
        ?.save(STATE_KEY, { session: openId, tab } as any)
        .catch(() => undefined);
    }
  }, [openId, tab, restored]);

  useEffect(
    () =>
      ctx.controller.on('newSession', () => {
        setOpenId(null);
        window.setTimeout(
          () => document.getElementById('jp-lawless-repo')?.focus(),
          0
        );
      }),
    []
  );

  const open = sessions?.find(s => s.id === openId) ?? null;

  return (
    <div className="jp-lawless-root">
      <header className="jp-lawless-header">
        <h2>Lawless</h2>
      </header>
      {open ? (
        <SessionView
          ctx={ctx}
          session={open}
          tab={tab}
          setTab={setTab}
          onBack={() => {
            setOpenId(null);
            void refresh();
          }}
          onSessionChanged={refresh}
        />
      ) : (
        <SessionsView
          ctx={ctx}
          sessions={sessions}
          error={listError}
          refresh={refresh}
          onOpen={id => {
            setOpenId(id);
            setTab('chat');
          }}
        />
      )}
    </div>
  );
}

// -- sessions ---------------------------------------------------------------------------------

function browserPath(browser: IDefaultFileBrowser | null): string {
  const path = browser?.model.path ?? '';
  const colon = path.indexOf(':');
  return colon >= 0 ? path.slice(colon + 1) : path; // drop a drive name
}

function SessionsView(props: {
  ctx: IPanelContext;
  sessions: ISession[] | null;
  error: string | null;
  refresh: () => Promise<ISession[] | null>;
  onOpen: (id: string) => void;
}): JSX.Element {
  const { ctx, sessions } = props;
  const [repo, setRepo] = useState(browserPath(ctx.browser));
  const [repoEdited, setRepoEdited] = useState(false);
  const [base, setBase] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    void props.refresh(); // states change while a session is open
  }, []);

  useEffect(() => {
    const browser = ctx.browser;
    if (!browser || repoEdited) {
      return;
    }
    const follow = () => setRepo(browserPath(browser));
    browser.model.pathChanged.connect(follow);
    return () => {
      browser.model.pathChanged.disconnect(follow);
    };
  }, [repoEdited]);

  const create = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const { session } = await api.createSession({
        repo: repo.trim(),
        ...(base.trim() ? { base: base.trim() } : {}),
        ...(name.trim() ? { name: name.trim() } : {})
      });
      setName('');
      await props.refresh();
      props.onOpen(session.id);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (session: ISession) => {
    const label = sessionLabel(session);
    const where = session.worktree_dir ?? session.worktree_path;
    const first = await showDialog({
      title: `Delete session “${label}”?`,
      body: (
        <div className="jp-lawless-dialog">
          <p>
            This removes its worktree folder <code>{where}</code>.
          </p>
          <p>
            Its branch <code>{session.branch}</code> is deleted too, unless it
            has commits that <code>{session.base}</code> does not have: then the
            branch is kept. A worktree with uncommitted changes is not deleted
            unless you confirm again.
          </p>
        </div>
      ),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({
          label: 'Delete',
          ariaLabel: `Delete session ${label}`
        })
      ]
    });
    if (!first.button.accept) {
      return;
    }
    setError(null);
    try {
      const result = await api.deleteSession(session.id);
      setNotice(deletedNotice(label, result));
    } catch (e) {
      if (!(
        e instanceof ApiError &&
        e.status === 409 &&
        e.details.uncommitted
      )) {
        setError(message(e));
        await props.refresh();
        return;
      }
      let files: string[] = [];
      try {
        const status = await api.status(session.id);
        files = status.files.map((f: any) => `${f.status}: ${f.path}`);
      } catch {
        files = [];
      }
      const second = await showDialog({
        title: 'Uncommitted changes will be lost',
        body: (
          <div className="jp-lawless-dialog">
            <p>
              The worktree of “{label}” has changes that were never committed.
              Deleting anyway throws them away for good
              {session.branch ? (
                <>
                  , and deletes the branch <code>{session.branch}</code> even if
                  it has unmerged commits
                </>
              ) : null}
              .
            </p>
            {files.length > 0 && (
              <ul className="jp-lawless-filelist">
                {files.slice(0, 20).map(f => (
                  <li key={f}>
                    <code>{f}</code>
                  </li>
                ))}
                {files.length > 20 && <li>… and {files.length - 20} more</li>}
              </ul>
            )}
          </div>
        ),
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: 'Delete anyway' })
        ]
      });
      if (second.button.accept) {
        try {
          const result = await api.deleteSession(session.id, true);
          setNotice(deletedNotice(label, result));
        } catch (e2) {
          setError(message(e2));
        }
      }
    }
    await props.refresh();
  };

  return (
    <div className="jp-lawless-sessions">
      <form
        className="jp-lawless-create"
        onSubmit={create}
        aria-label="Start a workspace session"
      >
        <h3>New session</h3>
        <label htmlFor="jp-lawless-repo">Repository</label>
        <input
          id="jp-lawless-repo"
          className="jp-mod-styled"
          value={repo}
          placeholder="folder of a git repository (empty: the root)"
          onChange={e => {
            setRepo(e.target.value);
            setRepoEdited(true);
          }}
          aria-describedby="jp-lawless-repo-help"
        />
        <div id="jp-lawless-repo-help" className="jp-lawless-help">
          Relative to the Jupyter root; follows the file browser until you type.
        </div>
        <div className="jp-lawless-row">
          <div className="jp-lawless-field">
            <label htmlFor="jp-lawless-base">Base branch</label>
            <input
              id="jp-lawless-base"
              className="jp-mod-styled"
              value={base}
              placeholder="current branch"
              onChange={e => setBase(e.target.value)}
            />
          </div>
          <div className="jp-lawless-field">
            <label htmlFor="jp-lawless-name">Name</label>
            <input
              id="jp-lawless-name"
              className="jp-mod-styled"
              value={name}
              maxLength={80}
              placeholder="optional"
              onChange={e => setName(e.target.value)}
            />
          </div>
        </div>
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-lawless-button"
          disabled={busy}
        >
          {busy ? 'Creating…' : 'Create session'}
        </button>
      </form>
      {error && (
        <div className="jp-lawless-error" role="alert">
          {error}
        </div>
      )}
      {notice && (
        <div className="jp-lawless-notice" role="status">
          {notice}
        </div>
      )}
      <div className="jp-lawless-listhead">
        <h3 id="jp-lawless-sessions-title">Sessions</h3>
        <button
          className="jp-lawless-linkbutton"
          onClick={() => void props.refresh()}
          aria-label="Refresh the list of sessions"
        >
          Refresh
        </button>
      </div>
      {props.error && (
        <div className="jp-lawless-error" role="alert">
          {props.error}
        </div>
      )}
      {sessions === null && !props.error && (
        <div className="jp-lawless-muted">Loading…</div>
      )}
      {sessions?.length === 0 && (
        <div className="jp-lawless-muted">
          No sessions yet. Pick a repository above and create one.
        </div>
      )}
      <ul
        className="jp-lawless-list"
        aria-labelledby="jp-lawless-sessions-title"
      >
        {sessions?.map(s => (
          <li key={s.id} className="jp-lawless-item">
            <button
              className="jp-lawless-open"
              onClick={() => props.onOpen(s.id)}
              aria-label={`Open session ${sessionLabel(s)} (${s.state})`}
              title={s.error ?? s.worktree_path}
            >
              <span className="jp-lawless-item-title">
                {sessionLabel(s)}
                <span
                  className={`jp-lawless-state jp-lawless-state-${s.state}`}
                >
                  {s.state}
                </span>
              </span>
              <span className="jp-lawless-item-meta">
                {s.repo || '(root)'} · {s.branch} · {age(s.created_at)}
              </span>
            </button>
            <button
              className="jp-lawless-iconbutton"
              onClick={() => void remove(s)}
              aria-label={`Delete session ${sessionLabel(s)}`}
              title="Delete session"
            >
              ✕
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function deletedNotice(label: string, result: any): string {
  if (result?.branch_deleted === false && result?.unmerged_commits > 0) {
    return `Deleted “${label}”. Its branch ${result.session?.branch} was kept: it has ${result.unmerged_commits} commit(s) not merged.`;
  }
  return `Deleted “${label}”.`;
}

// -- one session ------------------------------------------------------------------------------

const TABS: { id: Tab; label: string }[] = [
  { id: 'chat', label: 'Chat' },
  { id: 'changes', label: 'Changes' },
  { id: 'terminal', label: 'Terminal' },
  { id: 'connections', label: 'Connections' }
];

function SessionView(props: {
  ctx: IPanelContext;
  session: ISession;
  tab: Tab;
  setTab: (tab: Tab) => void;
  onBack: () => void;
  onSessionChanged: () => void;
}): JSX.Element {
  const { session, tab } = props;
  const [turns, setTurns] = useState(0); // finished turns: the changes may be new
  const tabRefs = useRef<{ [id: string]: HTMLButtonElement | null }>({});

  const onKeyDown = (event: React.KeyboardEvent) => {
    const index = TABS.findIndex(t => t.id === tab);
    let next = -1;
    if (event.key === 'ArrowRight') {
      next = (index + 1) % TABS.length;
    } else if (event.key === 'ArrowLeft') {
      next = (index + TABS.length - 1) % TABS.length;
    }
    if (next >= 0) {
      event.preventDefault();
      props.setTab(TABS[next].id);
      tabRefs.current[TABS[next].id]?.focus();
    }
  };

  return (
    <div className="jp-lawless-session">
      <div className="jp-lawless-sessionbar">
        <button
          className="jp-lawless-linkbutton"
          onClick={props.onBack}
          aria-label="Back to the list of sessions"
        >
          ‹ Sessions
        </button>
        <div className="jp-lawless-sessiontitle" title={session.worktree_path}>
          <strong>{sessionLabel(session)}</strong>
          <span className="jp-lawless-muted">
            {' '}
            {session.branch} ← {session.base}
          </span>
        </div>
      </div>
      <div
        className="jp-lawless-tabs"
        role="tablist"
        aria-label="Session views"
        onKeyDown={onKeyDown}
      >
        {TABS.map(t => (
          <button
            key={t.id}
            ref={el => (tabRefs.current[t.id] = el)}
            role="tab"
            id={`jp-lawless-tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`jp-lawless-tabpanel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            className={`jp-lawless-tab${tab === t.id ? ' jp-mod-current' : ''}`}
            onClick={() => props.setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      {TABS.map(t => (
        <div
          key={t.id}
          role="tabpanel"
          id={`jp-lawless-tabpanel-${t.id}`}
          aria-labelledby={`jp-lawless-tab-${t.id}`}
          className="jp-lawless-tabpanel"
          hidden={tab !== t.id}
        >
          {t.id === 'chat' && (
            <ChatView
              key={session.id}
              ctx={props.ctx}
              session={session}
              onTurnDone={() => setTurns(n => n + 1)}
            />
          )}
          {t.id === 'changes' && (
            <ChangesView
              key={session.id}
              ctx={props.ctx}
              session={session}
              active={tab === 'changes'}
              turns={turns}
            />
          )}
          {t.id === 'terminal' && (
            <TerminalView ctx={props.ctx} session={session} />
          )}
          {t.id === 'connections' && <ConnectionsView />}
        </div>
      ))}
    </div>
  );
}

// -- chat -------------------------------------------------------------------------------------

/** Every page of a session's stored history. */
async function loadHistory(sessionId: string): Promise<IHistoryRow[]> {
  const rows: IHistoryRow[] = [];
  let after = 0;
  for (;;) {
    const page = await api.messages(sessionId, after);
    rows.push(...page.messages);
    if (page.next_after === null || page.next_after === undefined) {
      return rows;
    }
    after = page.next_after;
  }
}

/** The browser's localStorage, or null where it is disabled. */
function storage(): IStorageLike | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

function ChatView(props: {
  ctx: IPanelContext;
  session: ISession;
  onTurnDone: () => void;
}): JSX.Element {
  const { ctx, session } = props;
  const settings = useSettings(ctx.controller);
  const [chat, setChat] = useState<IChatState>(emptyChat);
  const [draft, setDraft] = useState('');
  const [loading, setLoading] = useState(true);
  const [sending, setSending] = useState(false);
  const [reconnecting, setReconnecting] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const list = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const batcher = useRef(
    new ChatBatcher(events => {
      setReconnecting(false);
      setChat(state => applyEvents(state, events));
    })
  );
  const busy = sending || chat.running;

  useEffect(() => {
    ctx.controller.running = busy;
    ctx.controller.emit('running');
  }, [busy]);

  const callbacks = () => ({
    onEvent: (event: any, id: string | null, prev: string | null) =>
      batcher.current.push(event, id, prev),
    onReconnecting: () => setReconnecting(true),
    signal: abort.current?.signal
  });

  // the running turn's rendered part, kept so a reload resumes after its last event
  const keeper = useRef<TurnKeeper | null>(null);
  useEffect(() => keeper.current?.update(chat), [chat]);

  // one reader per turn: a re-attach never starts beside a stream being read
  const readers = useRef(new TurnReaders());

  const runStream = async (start: () => Promise<FollowResult>) => {
    const release = readers.current.claim();
    setSending(true);
    let ended = false;
    try {
      const { outcome } = await start();
      if (outcome === 'done') {
        keeper.current?.clear();
        ended = true;
      }
    } catch (error) {
      batcher.current.flush();
      if (!abort.current?.signal.aborted) {
        keeper.current?.clear();
        setChat(state => addError(state, message(error)));
      }
    } finally {
      release();
      batcher.current.flush();
      setReconnecting(false);
      setSending(false);
      setChat(state => ({ ...state, running: false }));
      if (!abort.current?.signal.aborted) {
        props.onTurnDone();
      }
    }
    if (ended && !abort.current?.signal.aborted) {
      // the turn is stored now: show exactly that (it usually is what streamed in)
      try {
        const rows = await loadHistory(session.id);
        if (!abort.current?.signal.aborted) {
          setChat(state => settleTurn(state, rows, state.turnId));
        }
      } catch {
        // what streamed in stays; the next load of the chat reads the history
      }
    }
  };

  // history, then re-attach to a turn that is still running (e.g. after a reload)
  useEffect(() => {
    abort.current = new AbortController();
    const signal = abort.current.signal;
    keeper.current = new TurnKeeper(storage(), session.id);
    const save = () => keeper.current?.flush();
    window.addEventListener('pagehide', save);
    void (async () => {
      try {
        const rows = await loadHistory(session.id);
        if (signal.aborted) {
          return;
        }
        const history = fromHistory(rows);
        const { session: fresh } = await api.getSession(session.id);
        if (signal.aborted) {
          return;
        }
        if (!shouldReattach(readers.current, fresh.state)) {
          if (!readers.current.reading) {
            keeper.current?.clear(); // the turn ended while no page followed it
          }
          // a message sent meanwhile, and its answer streaming in, stay
          setChat(state => mergeHistory(state, rows));
          return;
        }
        // resume after the last event rendered before the reload, not from the start
        const saved = keeper.current?.load() ?? null;
        setChat(state => keepPending(resumeState(history, saved), state));
        setLoading(false);
        let first = true;
        const follow = callbacks();
        await runStream(() =>
          attachTurn(session.id, saved?.lastEventId ?? null, {
            ...follow,
            onEvent: (event, id, prev) => {
              if (first && saved && !continues(saved, id)) {
                // another turn is replayed from its start: history has the saved one
                setChat(state => ({
                  ...keepPending(resumeState(history, null), state),
                  running: true
                }));
              }
              first = false;
              follow.onEvent(event, id, prev);
            }
          })
        );
      } catch (error) {
        if (!signal.aborted) {
          setChat(state => addError(state, message(error)));
        }
      } finally {
        setLoading(false);
      }
    })();
    const off = ctx.controller.on('stop', () => void stop());
    return () => {
      off();
      window.removeEventListener('pagehide', save);
      save();
      abort.current?.abort();
    };
  }, [session.id]);

  // keep the newest at the bottom in view while the reader is at the bottom
  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [chat.items]);

  const send = async () => {
    const text = draft.trim();
    if (!text || busy || readers.current.reading) {
      return;
    }
    setDraft('');
    stick.current = true;
    setChat(state => addUserMessage(state, text));
    await runStream(() => sendMessage(session.id, text, callbacks()));
  };

  const stop = async () => {
    try {
      await api.cancel(session.id);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) {
        setChat(state => addError(state, message(error)));
      }
    }
  };

  const answer = async (
    requestId: string,
    allow: boolean,
    remember: boolean
  ) => {
    try {
      await api.answer(
        session.id,
        requestId,
        allow ? 'allow' : 'deny',
        remember
      );
      setChat(state => answerApproval(state, requestId, allow, remember));
    } catch (error) {
      setChat(state => addError(state, message(error)));
    }
  };

  const onKeyDown = (event: React.KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key !== 'Enter' || event.nativeEvent.isComposing) {
      return;
    }
    const modifier = event.ctrlKey || event.metaKey;
    if (
      (settings.enterToSend && !event.shiftKey) ||
      (!settings.enterToSend && modifier)
    ) {
      event.preventDefault();
      void send();
    }
  };

  return (
    <div className="jp-lawless-chat">
      <div
        className="jp-lawless-messages"
        ref={list}
        role="log"
        aria-live="polite"
        aria-label="Conversation with Claude"
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
          <div className="jp-lawless-muted">Loading the conversation…</div>
        )}
        {!loading && chat.items.length === 0 && (
          <div className="jp-lawless-muted jp-lawless-empty">
            Ask Claude to do something in this worktree. Edits inside it are
            allowed; shell commands ask you first.
          </div>
        )}
        {chat.items.map(item => (
          <Item
            key={item.key}
            item={item}
            rendermime={ctx.rendermime}
            showThinking={settings.showThinking}
            onAnswer={answer}
          />
        ))}
        {busy && (
          <div className="jp-lawless-working" role="status">
            {reconnecting
              ? 'Connection lost, re-attaching…'
              : 'Claude is working…'}
          </div>
        )}
      </div>
      <div className="jp-lawless-composer">
        <textarea
          className="jp-mod-styled"
          value={draft}
          rows={3}
          placeholder={
            settings.enterToSend
              ? 'Message Claude (Enter sends, Shift+Enter: new line)'
              : 'Message Claude (Ctrl+Enter sends)'
          }
          aria-label="Message to Claude"
          onChange={e => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="jp-lawless-composer-buttons">
          <PermissionPicker
            disabled={busy}
            onError={text => setChat(state => addError(state, text))}
          />
          {busy ? (
            <button
              className="jp-mod-styled jp-mod-warn jp-lawless-button"
              onClick={() => void stop()}
              aria-label="Stop the running turn"
            >
              Stop
            </button>
          ) : (
            <button
              className="jp-mod-styled jp-mod-accept jp-lawless-button"
              onClick={() => void send()}
              disabled={!draft.trim()}
              aria-label="Send the message"
            >
              Send
            </button>
          )}
        </div>
      </div>
    </div>
  );
}

const Item = React.memo(
  (props: {
    item: ChatItem;
    rendermime: IRenderMimeRegistry;
    showThinking: boolean;
    onAnswer: (requestId: string, allow: boolean, remember: boolean) => void;
  }): JSX.Element | null => {
    const { item } = props;
    switch (item.kind) {
      case 'user':
        return (
          <div className="jp-lawless-msg jp-lawless-user">
            <div className="jp-lawless-role">You</div>
            <div className="jp-lawless-usertext">{item.text}</div>
          </div>
        );
      case 'assistant':
        return (
          <div className="jp-lawless-msg jp-lawless-assistant">
            <div className="jp-lawless-role">Claude</div>
            <Markdown text={item.text} rendermime={props.rendermime} />
          </div>
        );
      case 'thinking':
        return props.showThinking ? (
          <details className="jp-lawless-thinking">
            <summary>Thinking{item.streaming ? '…' : ''}</summary>
            <div className="jp-lawless-pre">{item.text}</div>
          </details>
        ) : null;
      case 'tool': {
        const state =
          item.result === null ? 'running' : item.isError ? 'error' : 'done';
        return (
          <details className={`jp-lawless-tool jp-lawless-tool-${state}`}>
            <summary>
              <span className="jp-lawless-tool-name">{item.name}</span>
              <code className="jp-lawless-tool-input">
                {shortInput(item.name, item.input)}
              </code>
              <span className="jp-lawless-tool-state">
                {state === 'running'
                  ? '…'
                  : state === 'error'
                    ? 'failed'
                    : 'done'}
              </span>
            </summary>
            <div className="jp-lawless-pre">
              {JSON.stringify(item.input, null, 2)}
            </div>
            {item.result !== null && (
              <div
                className={`jp-lawless-pre jp-lawless-result${item.isError ? ' jp-mod-error' : ''}`}
              >
                {item.result || '(no output)'}
              </div>
            )}
          </details>
        );
      }
      case 'approval':
        return (
          <div
            className={`jp-lawless-approval jp-lawless-approval-${item.status}`}
            role="group"
            aria-label={`Permission request for ${item.tool}`}
          >
            <div>
              Claude wants to use <strong>{item.tool}</strong>:
            </div>
            <div className="jp-lawless-pre">
              {shortInput(item.tool, item.input) || '—'}
            </div>
            {item.status === 'pending' ? (
              <div className="jp-lawless-approval-buttons">
                <button
                  className="jp-mod-styled jp-mod-accept jp-lawless-button"
                  onClick={() => props.onAnswer(item.requestId, true, false)}
                >
                  Allow
                </button>
                <button
                  className="jp-mod-styled jp-mod-reject jp-lawless-button"
                  onClick={() => props.onAnswer(item.requestId, false, false)}
                >
                  Deny
                </button>
                <button
                  className="jp-mod-styled jp-lawless-button"
                  onClick={() => props.onAnswer(item.requestId, true, true)}
                  title={`Allow ${item.tool} for the rest of this conversation`}
                >
                  Always allow
                </button>
              </div>
            ) : (
              <div className="jp-lawless-muted">
                {item.status === 'allowed'
                  ? item.remember
                    ? `Allowed (always for ${item.tool})`
                    : 'Allowed'
                  : item.status === 'denied'
                    ? 'Denied'
                    : 'No answer in time: denied'}
              </div>
            )}
          </div>
        );
      case 'usage':
        return <div className="jp-lawless-usage">{describeUsage(item)}</div>;
      case 'error':
        return (
          <div className="jp-lawless-error" role="alert">
            {item.message}
          </div>
        );
      case 'notice':
        return <div className="jp-lawless-notice">{item.text}</div>;
      default:
        return null;
    }
  }
);

/**
 * Markdown through JupyterLab's rendermime (sanitized, untrusted). Only this block renders
 * when its text grows; renders never overlap, the newest text wins.
 */
function Markdown(props: {
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

// -- changes ----------------------------------------------------------------------------------

function ChangesView(props: {
  ctx: IPanelContext;
  session: ISession;
  active: boolean;
  turns: number;
}): JSX.Element {
  const { session } = props;
  const settings = useSettings(props.ctx.controller);
  const [status, setStatus] = useState<any>(null);
  const [diff, setDiff] = useState<any>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [commitMessage, setCommitMessage] = useState('');
  const [strategy, setStrategy] = useState('merge');
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    setLoading(true);
    setError(null);
    try {
      const [s, d] = await Promise.all([
        api.status(session.id),
        api.diff(session.id, settings.diffAgainst)
      ]);
      setStatus(s);
      setDiff(d);
    } catch (e) {
      setError(message(e));
    } finally {
      setLoading(false);
    }
  }, [session.id, settings.diffAgainst]);

  useEffect(() => {
    if (props.active) {
      void load();
    }
  }, [props.active, props.turns, load]);

  const commit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const { commit } = await api.commit(session.id, commitMessage.trim());
      setCommitMessage('');
      setNotice(
        `Committed ${commit.sha.slice(0, 8)} (${commit.files.length} file${commit.files.length === 1 ? '' : 's'}).`
      );
      await load();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const merge = async () => {
    const answer = await showDialog({
      title: `Merge into ${session.base}?`,
      body: `The commits of ${session.branch} go into ${session.base} (${strategy}). Uncommitted changes stay in the worktree and are not merged.`,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Merge' })]
    });
    if (!answer.button.accept) {
      return;
    }
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const { merge } = await api.merge(session.id, strategy);
      setNotice(
        `Merged into ${merge.base}: it is now at ${String(merge.merged_commit).slice(0, 8)}.`
      );
      await load();
    } catch (e) {
      const conflicts: string[] =
        e instanceof ApiError ? (e.details.conflicts ?? []) : [];
      setError(
        message(e) +
          (conflicts.length
            ? ` Conflicting files: ${conflicts.join(', ')}.`
            : '')
      );
    } finally {
      setBusy(false);
    }
  };

  const files = diff ? parsePatch(diff.patch ?? '') : [];

  return (
    <div className="jp-lawless-changes">
      <div className="jp-lawless-listhead">
        <div className="jp-lawless-muted">
          {status
            ? `${status.ahead} commit${status.ahead === 1 ? '' : 's'} ahead of ${status.base} · ${status.clean ? 'no uncommitted changes' : `${status.files.length} uncommitted`}`
            : ' '}
        </div>
        <button
          className="jp-lawless-linkbutton"
          onClick={() => void load()}
          disabled={loading}
          aria-label="Refresh the changes"
        >
          {loading ? 'Loading…' : 'Refresh'}
        </button>
      </div>
      {error && (
        <div className="jp-lawless-error" role="alert">
          {error}
        </div>
      )}
      {notice && (
        <div className="jp-lawless-notice" role="status">
          {notice}
        </div>
      )}
      {status && (
        <>
          <h3>Uncommitted</h3>
          {status.files.length === 0 ? (
            <div className="jp-lawless-muted">Nothing to commit.</div>
          ) : (
            <ul className="jp-lawless-files" aria-label="Changed files">
              {status.files.map((f: any) => (
                <li key={f.path}>
                  <span
                    className={`jp-lawless-filestatus jp-lawless-fs-${f.status}`}
                  >
                    {f.status}
                  </span>{' '}
                  <code>{f.path}</code>
                </li>
              ))}
            </ul>
          )}
          <form className="jp-lawless-commit" onSubmit={commit}>
            <label
              htmlFor="jp-lawless-commit-message"
              className="jp-lawless-sr"
            >
              Commit message
            </label>
            <input
              id="jp-lawless-commit-message"
              className="jp-mod-styled"
              placeholder="Commit message"
              value={commitMessage}
              onChange={e => setCommitMessage(e.target.value)}
            />
            <button
              type="submit"
              className="jp-mod-styled jp-mod-accept jp-lawless-button"
              disabled={busy || status.clean || !commitMessage.trim()}
            >
              Commit all
            </button>
          </form>
          <div className="jp-lawless-merge">
            <label htmlFor="jp-lawless-strategy">
              Merge back into {session.base}
            </label>
            <div className="jp-lawless-row">
              <select
                id="jp-lawless-strategy"
                className="jp-mod-styled"
                value={strategy}
                onChange={e => setStrategy(e.target.value)}
              >
                <option value="merge">merge commit</option>
                <option value="squash">squash</option>
                <option value="rebase">rebase</option>
              </select>
              <button
                className="jp-mod-styled jp-lawless-button"
                onClick={() => void merge()}
                disabled={busy || status.ahead === 0}
              >
                Merge
              </button>
            </div>
          </div>
          <GitHubActions session={session} />
        </>
      )}
      {diff && (
        <>
          <h3>
            Diff against{' '}
            {diff.against === 'head' ? 'the last commit' : 'the base'}
          </h3>
          {files.length === 0 && (
            <div className="jp-lawless-muted">No differences.</div>
          )}
          {files.map(file => {
            const stats = diff.files.find((f: any) => f.path === file.path);
            return (
              <details key={file.path} className="jp-lawless-diff" open>
                <summary>
                  <code>{file.path}</code>
                  {stats && (
                    <span className="jp-lawless-diffstat">
                      <span className="jp-lawless-add">+{stats.additions}</span>{' '}
                      <span className="jp-lawless-del">−{stats.deletions}</span>
                    </span>
                  )}
                </summary>
                <pre className="jp-lawless-patch">
                  {!file.lines.some(l => l.kind !== 'meta') && (
                    <div className="jp-lawless-line jp-lawless-line-hunk">
                      {stats?.binary ? '(binary file)' : '(empty file)'}
                    </div>
                  )}
                  {file.lines
                    .filter(l => l.kind !== 'meta')
                    .map((l, i) => (
                      <div
                        key={i}
                        className={`jp-lawless-line jp-lawless-line-${l.kind}`}
                      >
                        {l.text || ' '}
                      </div>
                    ))}
                </pre>
              </details>
            );
          })}
          {diff.truncated && (
            <div className="jp-lawless-muted">
              The diff was cut short: it is too large.
            </div>
          )}
        </>
      )}
    </div>
  );
}

// -- terminal, connections --------------------------------------------------------------------

function TerminalView(props: {
  ctx: IPanelContext;
  session: ISession;
}): JSX.Element {
  const { ctx, session } = props;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const openTerminal = async () => {
    setBusy(true);
    setError(null);
    try {
      const { terminal } = await api.createTerminal(session.id);
      await ctx.app.commands.execute('terminal:open', { name: terminal.name });
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const openFolder = async () => {
    setError(null);
    try {
      if (ctx.browser && session.worktree_dir !== null) {
        await ctx.browser.model.cd('/' + session.worktree_dir);
        ctx.app.shell.activateById(ctx.browser.id);
      } else {
        await ctx.app.commands.execute('filebrowser:go-to-path', {
          path: '/' + session.worktree_dir
        });
      }
    } catch (e) {
      setError(message(e));
    }
  };

  return (
    <div className="jp-lawless-terminal">
      <p className="jp-lawless-muted">
        A terminal that starts in this session's worktree, on its branch.
      </p>
      <button
        className="jp-mod-styled jp-mod-accept jp-lawless-button"
        onClick={() => void openTerminal()}
        disabled={busy}
      >
        Open a terminal
      </button>
      <button
        className="jp-mod-styled jp-lawless-button"
        onClick={() => void openFolder()}
        disabled={session.worktree_dir === null}
        title={
          session.worktree_dir === null
            ? 'The worktree is outside the Jupyter root'
            : session.worktree_dir
        }
      >
        Show the worktree in the file browser
      </button>
      <p className="jp-lawless-muted">
        Worktree: <code>{session.worktree_path}</code>
      </p>
      {error && (
        <div className="jp-lawless-error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
