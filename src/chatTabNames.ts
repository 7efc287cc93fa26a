/**
 * How main-area chats are named and tracked: one tab per session (its id says which), the
 * tracker's namespace the layout restorer keys them by, and which tabs to close when the
 * session list no longer has their session. Plain functions, tested with jest.
 */
import { ISession, sessionLabel } from './format';

/** The tracker's namespace (the layout restorer keys restored tabs by it). */
export const CHAT_NAMESPACE = 'lawless-chat';

/** One tab per session: its id says which. */
export const chatTabId = (sessionId: string): string =>
  `${CHAT_NAMESPACE}-${sessionId}`;

/** The tab's title until the session is read, and after. */
export const chatTabLabel = (session: ISession | null, id: string): string =>
  `Claude: ${session ? sessionLabel(session) : id.slice(0, 8)}`;

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
