/**
 * The stored history (`GET .../messages`) and what the chat shows: merged when the history
 * is read while the screen holds more, and one and the same after each turn.
 */
import { ChatItem, fromHistory, IChatState, IHistoryRow } from './chat';

/** Said by the panel only: never in the stored history, kept when history is merged. */
function isLocal(item: ChatItem): boolean {
  return (
    item.kind === 'approval' ||
    item.kind === 'notice' ||
    (item.kind === 'error' && !!item.local)
  );
}

/** What a person sees of an item, without its key and its streaming state. */
function shownAs(item: ChatItem): string {
  return JSON.stringify(item, (name, value) =>
    name === 'key' || name === 'turnId' || name === 'streaming'
      ? undefined
      : value
  );
}

/**
 * The stored history (`GET .../messages`) read while the chat may already show more: a
 * message just sent, a turn streaming in. Turns on screen stay as they are (their stream
 * goes on); the history adds the turns that are not, above them. A message sent before the
 * history was read whose turn the history already holds is given that turn, so it is
 * neither lost nor shown twice.
 */
export function mergeHistory(
  state: IChatState,
  rows: IHistoryRow[]
): IChatState {
  const history = fromHistory(rows);
  const keys = new Set(state.items.map(item => item.key));
  const turns = new Set(state.items.map(item => item.turnId));
  let items = state.items;
  let claimed: string | null = null;
  const newest = [...history].reverse().find(item => item.kind === 'user');
  const sent = [...items]
    .reverse()
    .find(item => item.kind === 'user' && item.turnId === null);
  if (
    newest &&
    sent &&
    newest.turnId &&
    !turns.has(newest.turnId) &&
    newest.kind === 'user' &&
    sent.kind === 'user' &&
    newest.text === sent.text
  ) {
    claimed = newest.turnId;
    items = items.map(item =>
      item === sent ? { ...sent, turnId: claimed } : item
    );
  }
  const older = history.filter(
    item =>
      !keys.has(item.key) &&
      (item.turnId === null ||
        (!turns.has(item.turnId) && item.turnId !== claimed))
  );
  if (older.length === 0 && items === state.items) {
    return state;
  }
  return { ...state, items: [...older, ...items] };
}

/**
 * After a turn ended: what the chat shows of it becomes exactly what is stored. When the
 * streamed items already equal the stored ones nothing changes (no re-render); otherwise
 * the stored ones replace them, with the panel's own cards (approvals, notices) kept
 * beside them.
 */
export function settleTurn(
  state: IChatState,
  rows: IHistoryRow[],
  turnId: string | null
): IChatState {
  if (!turnId || (state.running && state.turnId === turnId)) {
    return state; // still streaming: its stream has the last word
  }
  const stored = fromHistory(rows).filter(item => item.turnId === turnId);
  const where = state.items
    .map((item, i) => (item.turnId === turnId ? i : -1))
    .filter(i => i >= 0);
  if (stored.length === 0 || where.length === 0) {
    return stored.length === 0 ? state : mergeHistory(state, rows);
  }
  const first = where[0];
  const last = where[where.length - 1];
  const span = state.items.slice(first, last + 1);
  const shown = span.filter(item => item.turnId === turnId && !isLocal(item));
  if (
    shown.length === stored.length &&
    shown.every((item, i) => shownAs(item) === shownAs(stored[i]))
  ) {
    return state;
  }
  const merged = stored.slice();
  for (const item of span) {
    if (item.turnId === turnId && !isLocal(item)) {
      continue;
    }
    const tool =
      item.kind === 'approval' && item.toolUseId
        ? merged.findIndex(t => t.kind === 'tool' && t.id === item.toolUseId)
        : -1;
    if (tool >= 0) {
      merged.splice(tool + 1, 0, item);
    } else {
      merged.push(item);
    }
  }
  return {
    ...state,
    items: [
      ...state.items.slice(0, first),
      ...merged,
      ...state.items.slice(last + 1)
    ]
  };
}

/** `next` with the messages of `state` that no turn has taken yet (and the panel's errors). */
export function keepPending(next: IChatState, state: IChatState): IChatState {
  const pending = state.items.filter(item => item.turnId === null);
  return pending.length
    ? { ...next, items: [...next.items, ...pending] }
    : next;
}
