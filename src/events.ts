/**
 * Applying a turn's stream events to the chat, idempotently: whatever delivers them (one
 * reader or two, a replay, events joined by the server), each piece shows once and in
 * order. Plain TypeScript, unit-tested (src/__tests__/applier.spec.ts).
 */
import {
  ChatItem,
  IChatState,
  IStreamEvent,
  nextKey,
  parseEventId,
  setToolResult,
  toolItem,
  usageItem
} from './chat';
import { TranslationBundle } from '@jupyterlab/translation';
import { untranslated } from './translation';

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
  let queued = state.queued ?? null;
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
    // in line for a Claude process until anything else of the turn (its answer) arrives
    queued =
      data.type === 'queued' ? Math.max(1, Number(data.position) || 1) : null;
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
      case 'queued':
        break; // shown where the answer will stream (the working line), not as an item
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
        items.push(toolItem(nextKey('tool'), turnId, data));
        break;
      case 'tool_result':
        closeStreaming(items);
        setToolResult(
          items,
          data.tool_use_id,
          data.content,
          data.is_error,
          data.images
        );
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
              : null,
          rule: typeof data.rule === 'string' ? data.rule : null,
          runsGitHooks: data.runs_git_hooks === true,
          code: typeof data.code === 'string' ? data.code : null
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
          message: String(
            data.message ?? untranslated.__('Something went wrong.')
          ),
          code: String(data.code ?? ''),
          ...(data.message === undefined || data.message === null
            ? { say: (t: TranslationBundle) => t.__('Something went wrong.') }
            : {})
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
            text: untranslated.__('Stopped.'),
            say: t => t.__('Stopped.')
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
  return { items, running, turnId, lastEventId, marks, queued };
}

function closeStreaming(items: ChatItem[]): void {
  const last = items[items.length - 1];
  if (last && (last.kind === 'assistant' || last.kind === 'thinking')) {
    if (last.streaming) {
      items[items.length - 1] = { ...last, streaming: false };
    }
  }
}
