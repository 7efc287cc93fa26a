/**
 * The chat's state: the items a person sees, built from the stored history and from
 * stream events. Plain TypeScript: no DOM, no JupyterLab, so it is unit-tested.
 */
import { IChatEvent } from './sse';

export interface IUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

export type ApprovalStatus = 'pending' | 'allowed' | 'denied' | 'expired';

export type ChatItem =
  | { kind: 'user'; key: string; turnId: string | null; text: string }
  | {
      kind: 'assistant';
      key: string;
      turnId: string | null;
      text: string;
      streaming: boolean;
    }
  | {
      kind: 'thinking';
      key: string;
      turnId: string | null;
      text: string;
      streaming: boolean;
    }
  | {
      kind: 'tool';
      key: string;
      turnId: string | null;
      id: string;
      name: string;
      input: { [key: string]: any };
      result: string | null;
      isError: boolean;
    }
  | {
      kind: 'approval';
      key: string;
      turnId: string | null;
      requestId: string;
      toolUseId: string | null;
      tool: string;
      input: { [key: string]: any };
      status: ApprovalStatus;
      remember: boolean;
      timeoutSeconds: number | null;
    }
  | {
      kind: 'usage';
      key: string;
      turnId: string | null;
      usage: IUsage;
      costUsd: number | null;
      durationMs: number | null;
      numTurns: number | null;
    }
  | {
      kind: 'error';
      key: string;
      turnId: string | null;
      message: string;
      code: string;
      /** Said by the panel itself (e.g. a send refused), never in the stored history. */
      local?: boolean;
    }
  | { kind: 'notice'; key: string; turnId: string | null; text: string };

/** A row of `GET .../messages`. */
export interface IHistoryRow {
  seq: number;
  id?: string;
  turn_id: string | null;
  role: string;
  content: { [key: string]: any };
  created_at?: string;
}

export interface IChatState {
  items: ChatItem[];
  /** A turn is running (between `start` and `done`). */
  running: boolean;
  turnId: string | null;
  /** The id (`<turn>-<seq>`) of the last event applied: anything at or below it is old. */
  lastEventId: string | null;
  /**
   * Where the pieces of the open text (or thinking) block end: event seq -> the block's
   * length after that piece. Lets a coalesced event that overlaps pieces already applied
   * add only its new part.
   */
  marks?: { [seq: number]: number };
}

export const emptyChat = (): IChatState => ({
  items: [],
  running: false,
  turnId: null,
  lastEventId: null,
  marks: {}
});

/** One stream event as a reader passes it on. */
export interface IStreamEvent {
  data: IChatEvent;
  /** Its SSE id, `<turn>-<seq>`. */
  id: string | null;
  /**
   * The id of the event before it on the same connection (the `Last-Event-ID` it was
   * opened with for the first one; null: the stream began at the turn's start). The server
   * joins consecutive text pieces into one event with the last piece's seq, so an event
   * covers the seqs after `prev` up to its own. Undefined: one piece.
   */
  prev?: string | null;
}

/** `"3-17"` -> turn 3, seq 17. */
export function parseEventId(
  id: string | null | undefined
): { turn: number; seq: number } | null {
  const match = /^(\d+)-(\d+)$/.exec(id ?? '');
  return match ? { turn: Number(match[1]), seq: Number(match[2]) } : null;
}

/** The first seq an event covers (see `IStreamEvent.prev`). */
function firstSeq(
  at: { turn: number; seq: number },
  prev: string | null | undefined
): number {
  if (prev === undefined) {
    return at.seq;
  }
  const before = parseEventId(prev);
  // no id yet, or an id of an older turn (the server then sends the latest turn whole)
  return before && before.turn === at.turn ? before.seq + 1 : 1;
}

/**
 * How much of `delta` (an event covering the pieces after seq `boundary`) is on screen
 * already, the block's text being `text` up to the last applied piece. Exact when a piece
 * ended at `boundary`; otherwise (two readers that joined pieces differently) the longest
 * overlap the known piece ends allow.
 */
function overlapLength(
  text: string,
  marks: { [seq: number]: number },
  boundary: number,
  delta: string
): number {
  if (marks[boundary] !== undefined) {
    return Math.max(0, Math.min(delta.length, text.length - marks[boundary]));
  }
  let lo = 0; // the block's start
  let hi = text.length;
  for (const [key, length] of Object.entries(marks)) {
    const seq = Number(key);
    if (seq < boundary && length > lo) {
      lo = length;
    }
    if (seq > boundary && length < hi) {
      hi = length;
    }
  }
  const most = Math.min(delta.length, text.length - lo);
  const least = Math.max(0, text.length - hi);
  for (let n = most; n >= least; n--) {
    if (text.endsWith(delta.slice(0, n))) {
      return n;
    }
  }
  return most;
}

let counter = 0;
const nextKey = (prefix: string): string => `${prefix}-${++counter}`;

/** The items of the stored history. */
export function fromHistory(rows: IHistoryRow[]): ChatItem[] {
  const items: ChatItem[] = [];
  for (const row of rows) {
    const c = row.content ?? {};
    const turnId = row.turn_id ?? null;
    const key = `h-${row.seq}`;
    switch (row.role) {
      case 'user':
        items.push({ kind: 'user', key, turnId, text: String(c.text ?? '') });
        break;
      case 'assistant':
        items.push({
          kind: 'assistant',
          key,
          turnId,
          text: String(c.text ?? ''),
          streaming: false
        });
        break;
      case 'thinking':
        items.push({
          kind: 'thinking',
          key,
          turnId,
          text: String(c.text ?? ''),
          streaming: false
        });
        break;
      case 'tool_use':
        items.push({
          kind: 'tool',
          key,
          turnId,
          id: String(c.id ?? ''),
          name: String(c.name ?? 'tool'),
          input: c.input ?? {},
          result: null,
          isError: false
        });
        break;
      case 'tool_result':
        setToolResult(items, c.tool_use_id, c.content, c.is_error);
        break;
      case 'usage':
        items.push(usageItem(key, turnId, c));
        break;
      case 'error':
        items.push({
          kind: 'error',
          key,
          turnId,
          message: String(c.message ?? 'Something went wrong.'),
          code: String(c.code ?? '')
        });
        break;
      default:
        break;
    }
  }
  return items;
}

function usageItem(key: string, turnId: string | null, c: any): ChatItem {
  return {
    kind: 'usage',
    key,
    turnId,
    usage: c.usage ?? {},
    costUsd: typeof c.total_cost_usd === 'number' ? c.total_cost_usd : null,
    durationMs: typeof c.duration_ms === 'number' ? c.duration_ms : null,
    numTurns: typeof c.num_turns === 'number' ? c.num_turns : null
  };
}

/** Sets a tool card's result in place (a new object, so a memoized view re-renders). */
function setToolResult(
  items: ChatItem[],
  toolUseId: string,
  content: any,
  isError: any
): boolean {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item.kind === 'tool' && item.id === toolUseId) {
      items[i] = {
        ...item,
        result: String(content ?? ''),
        isError: Boolean(isError)
      };
      return true;
    }
  }
  return false;
}

/** The user's own message, shown at once when sent. */
export function addUserMessage(state: IChatState, text: string): IChatState {
  return {
    ...state,
    items: [
      ...state.items,
      { kind: 'user', key: nextKey('u'), turnId: null, text }
    ]
  };
}

/**
 * Apply a batch of stream events. Items that do not change keep their identity, so only
 * the streaming block re-renders.
 *
 * Idempotent: an event at or below the last applied `<turn>-<seq>` is ignored, and of a
 * joined text event that overlaps pieces already applied only the new part is added. So a
 * second reader of the same turn, a replay from an older `Last-Event-ID` or a joined event
 * beside single ones never shows anything twice or out of order.
 */
export function applyEvents(
  state: IChatState,
  events: IStreamEvent[]
): IChatState {
  if (events.length === 0) {
    return state;
  }
  const items = state.items.slice();
  let { running, turnId, lastEventId } = state;
  let marks = { ...(state.marks ?? {}) };
  let changed = false;
  for (const { data, id, prev } of events) {
    const at = parseEventId(id);
    const applied = parseEventId(lastEventId);
    let overlapFrom: number | null = null; // the piece boundary the event starts after
    if (at && applied) {
      if (
        at.turn < applied.turn ||
        (at.turn === applied.turn && at.seq <= applied.seq)
      ) {
        continue; // on screen already
      }
      const from = firstSeq(at, prev);
      if (at.turn === applied.turn && from <= applied.seq) {
        overlapFrom = from - 1;
      }
    }
    changed = true;
    if (id) {
      lastEventId = id;
    }
    const last = items[items.length - 1];
    if (data.type !== 'text' && data.type !== 'thinking') {
      marks = {};
    }
    switch (data.type) {
      case 'start': {
        running = true;
        turnId = data.turn_id ?? null;
        // A replayed turn (after a reload) replaces what history had of it; its
        // user message is not in the stream, so that stays.
        for (let i = items.length - 1; i >= 0; i--) {
          const item = items[i];
          if (turnId && item.turnId === turnId && item.kind !== 'user') {
            items.splice(i, 1);
          }
        }
        const known = items.some(
          item => item.kind === 'user' && item.turnId === turnId
        );
        for (let i = items.length - 1; i >= 0 && !known; i--) {
          const item = items[i];
          if (item.kind === 'user' && item.turnId === null) {
            items[i] = { ...item, turnId }; // the message just sent
            break;
          }
        }
        break;
      }
      case 'text':
      case 'thinking': {
        const kind = data.type === 'text' ? 'assistant' : 'thinking';
        let delta = String(data.delta ?? '');
        const open = last && last.kind === kind && last.streaming ? last : null;
        if (overlapFrom !== null && open) {
          delta = delta.slice(
            overlapLength(open.text, marks, overlapFrom, delta)
          );
        } else if (at && prev !== undefined) {
          marks[firstSeq(at, prev) - 1] = open ? open.text.length : 0;
        }
        if (open) {
          items[items.length - 1] = { ...open, text: open.text + delta };
        } else {
          closeStreaming(items);
          marks =
            at && prev !== undefined ? { [firstSeq(at, prev) - 1]: 0 } : {};
          items.push({
            kind,
            key: nextKey(kind),
            turnId,
            text: delta,
            streaming: true
          });
        }
        if (at) {
          marks[at.seq] = (
            items[items.length - 1] as { text: string }
          ).text.length;
        }
        break;
      }
      case 'tool_use':
        closeStreaming(items);
        items.push({
          kind: 'tool',
          key: nextKey('tool'),
          turnId,
          id: String(data.id ?? ''),
          name: String(data.name ?? 'tool'),
          input: data.input ?? {},
          result: null,
          isError: false
        });
        break;
      case 'tool_result':
        closeStreaming(items);
        setToolResult(items, data.tool_use_id, data.content, data.is_error);
        for (let i = items.length - 1; i >= 0; i--) {
          const item = items[i];
          if (item.kind === 'approval' && item.status === 'pending') {
            // answered elsewhere (another tab) or timed out: the result tells
            items[i] = {
              ...item,
              status: data.is_error ? 'denied' : 'allowed'
            };
          }
        }
        break;
      case 'approval_request':
        closeStreaming(items);
        items.push({
          kind: 'approval',
          key: nextKey('approval'),
          turnId,
          requestId: String(data.request_id),
          toolUseId: data.tool_use_id ? String(data.tool_use_id) : null,
          tool: String(data.tool ?? 'tool'),
          input: data.input ?? {},
          status: 'pending',
          remember: false,
          timeoutSeconds:
            typeof data.timeout_seconds === 'number'
              ? data.timeout_seconds
              : null
        });
        break;
      case 'usage':
        closeStreaming(items);
        items.push(usageItem(nextKey('usage'), turnId, data));
        break;
      case 'error':
        closeStreaming(items);
        items.push({
          kind: 'error',
          key: nextKey('error'),
          turnId,
          message: String(data.message ?? 'Something went wrong.'),
          code: String(data.code ?? '')
        });
        break;
      case 'done':
        closeStreaming(items);
        for (let i = 0; i < items.length; i++) {
          const item = items[i];
          if (item.kind === 'approval' && item.status === 'pending') {
            items[i] = { ...item, status: 'expired' };
          }
        }
        if (data.stop_reason === 'cancelled') {
          items.push({
            kind: 'notice',
            key: nextKey('notice'),
            turnId,
            text: 'Stopped.'
          });
        }
        running = false;
        break;
      default:
        break;
    }
  }
  if (!changed) {
    return state;
  }
  return { items, running, turnId, lastEventId, marks };
}

function closeStreaming(items: ChatItem[]): void {
  const last = items[items.length - 1];
  if (last && (last.kind === 'assistant' || last.kind === 'thinking')) {
    if (last.streaming) {
      items[items.length - 1] = { ...last, streaming: false };
    }
  }
}

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
  if (!turnId || state.running) {
    return state;
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

/** Mark an approval card answered (before the server's tool_result arrives). */
export function answerApproval(
  state: IChatState,
  requestId: string,
  allowed: boolean,
  remember: boolean
): IChatState {
  return {
    ...state,
    items: state.items.map(item =>
      item.kind === 'approval' && item.requestId === requestId
        ? { ...item, status: allowed ? 'allowed' : 'denied', remember }
        : item
    )
  };
}

/** The error shown when a turn could not start (e.g. a 429). */
export function addError(
  state: IChatState,
  message: string,
  code = ''
): IChatState {
  return {
    ...state,
    items: [
      ...state.items,
      {
        kind: 'error',
        key: nextKey('error'),
        turnId: null,
        message,
        code,
        local: true
      }
    ]
  };
}

/**
 * Collects stream events and applies them once per animation frame, so a fast stream of
 * deltas costs one render per frame, not one per delta.
 */
export class ChatBatcher {
  private queue: IStreamEvent[] = [];
  private scheduled = false;

  constructor(
    private readonly apply: (events: IStreamEvent[]) => void,
    private readonly schedule: (flush: () => void) => void = requestFrame
  ) {}

  push(data: IChatEvent, id: string | null, prev?: string | null): void {
    this.queue.push(prev === undefined ? { data, id } : { data, id, prev });
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  /** Apply everything queued now (also called at the end of a stream). */
  flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) {
      return;
    }
    const events = this.queue;
    this.queue = [];
    this.apply(events);
  }
}

function requestFrame(flush: () => void): void {
  if (typeof requestAnimationFrame === 'function') {
    requestAnimationFrame(() => flush());
  } else {
    setTimeout(flush, 16);
  }
}

/** "1,234 in · 56 out · $0.0123 · 2.3 s". */
export function describeUsage(item: {
  usage: IUsage;
  costUsd: number | null;
  durationMs: number | null;
}): string {
  const u = item.usage ?? {};
  const parts: string[] = [];
  const input =
    (u.input_tokens ?? 0) +
    (u.cache_read_input_tokens ?? 0) +
    (u.cache_creation_input_tokens ?? 0);
  parts.push(`${input.toLocaleString('en-US')} tokens in`);
  parts.push(`${(u.output_tokens ?? 0).toLocaleString('en-US')} out`);
  if (item.costUsd !== null) {
    parts.push(`$${item.costUsd.toFixed(4)}`);
  }
  if (item.durationMs !== null) {
    parts.push(`${(item.durationMs / 1000).toFixed(1)} s`);
  }
  return parts.join(' · ');
}

/** A short one-line summary of a tool's input for the card header. */
export function shortInput(
  name: string,
  input: { [key: string]: any }
): string {
  const pick =
    input.command ??
    input.file_path ??
    input.path ??
    input.pattern ??
    input.url ??
    input.query ??
    input.description;
  let text =
    typeof pick === 'string' ? pick : (JSON.stringify(input ?? {}) ?? '');
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
