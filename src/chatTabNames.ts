/**
 * How main-area chats are named and tracked: one tab per session (its id says which), the
 * tracker's namespace the layout restorer keys them by, and which tabs to close when the
 * session list no longer has their session. Plain functions, tested with jest.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { ISession, sessionLabel } from './format';
import { loadTrans } from './translation';

/** The tracker's namespace (the layout restorer keys restored tabs by it). */
export const CHAT_NAMESPACE = 'lawless-chat';

/** One tab per session: its id says which. */
export const chatTabId = (sessionId: string): string =>
  `${CHAT_NAMESPACE}-${sessionId}`;

/** The tab's title until the session is read, and after. */
export const chatTabLabel = (
  session: ISession | null,
  id: string,
  trans: TranslationBundle = loadTrans(null)
): string =>
  trans.__('Claude: %1', session ? sessionLabel(session) : id.slice(0, 8));

/** What the session's chat is doing: the tab's header shows it. */
export type ChatActivity = 'idle' | 'working' | 'waiting';

/** A session that can still chat (else the tab says it is closed). */
const OPEN_STATES = new Set(['active', 'connected', 'updating']);

export interface IChatTabTitle {
  label: string;
  caption: string;
  /** The title's class: the tab's CSS shows a busy or waiting mark by it. */
  className: string;
}

/**
 * The tab's header for the session and what its chat does: a running turn marks the tab
 * busy (as a notebook's busy kernel does), a pending approval says so in the title, and a
 * session no longer open (deleting, failed) says that.
 */
export function chatTabTitle(
  session: ISession | null,
  id: string,
  activity: ChatActivity,
  trans: TranslationBundle = loadTrans(null)
): IChatTabTitle {
  const label = chatTabLabel(session, id, trans);
  const where = session
    ? `${session.branch} ← ${session.base}: ${session.worktree_path}`
    : '';
  if (session && !OPEN_STATES.has(session.state)) {
    return {
      label: trans.__('%1 (closed)', label),
      caption: trans.__('The session is %1. %2', session.state, where),
      className: 'jp-lawless-chattab-closed'
    };
  }
  if (activity === 'waiting') {
    return {
      label: trans.__('%1 (approval)', label),
      caption: trans.__('Claude waits for your approval. %1', where),
      className: 'jp-lawless-chattab-waiting'
    };
  }
  if (activity === 'working') {
    return {
      label,
      caption: trans.__('Claude is working… %1', where),
      className: 'jp-lawless-chattab-working'
    };
  }
  return { label, caption: where, className: '' };
}

/** What a chat's state says about it: a running turn, waiting on an approval or not. */
export const chatActivity = (
  busy: boolean,
  pendingApprovals: number
): ChatActivity =>
  !busy ? 'idle' : pendingApprovals > 0 ? 'waiting' : 'working';

/** The sessions whose tabs should close: open tabs of sessions not in the list. */
export function goneSessions(
  open: string[],
  listed: { id: string }[] | null
): string[] {
  if (listed === null) {
    return []; // the list could not be read: nothing is known to be gone
  }
  const ids = new Set(listed.map(s => s.id));
  return open.filter(id => !ids.has(id));
}
