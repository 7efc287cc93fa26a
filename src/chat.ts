/**
 * The chat's state: the items a person sees, built from the stored history and from
 * stream events. Plain TypeScript: no DOM, no JupyterLab, so it is unit-tested.
 */
import { resultImages } from './notebookTools';
import { IChatEvent } from './sse';
import { describeRewind } from './turns';
import { TranslationBundle } from '@jupyterlab/translation';
import { untranslated } from './translation';

export interface IUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

export type ApprovalStatus = 'pending' | 'allowed' | 'denied' | 'expired';

export type ChatItem =
  | {
      kind: 'user';
      key: string;
      turnId: string | null;
      text: string;
      /** The names of what was attached to the message. */
      attachments?: string[];
    }
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
      /** images the result carried (a notebook tool's plot), base64 */
      images?: { mediaType: string; data: string }[];
      /** a shell command that runs the repository's git hooks */
      runsGitHooks?: boolean;
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
      /** what "Always allow" remembers (null: the request asks every time) */
      rule?: string | null;
      /** a shell command that runs the repository's git hooks */
      runsGitHooks?: boolean;
      /** the code the call runs when its input does not hold it (a notebook cell) */
      code?: string | null;
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
      /** The message in the person's language, when the panel wrote it (`text` in English). */
      say?: Say;
    }
  | {
      kind: 'notice';
      key: string;
      turnId: string | null;
      text: string;
      say?: Say;
    };

/** Text the panel composes, in the person's language: the view calls it with its bundle. */
export type Say = (trans: TranslationBundle) => string;

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
  /**
   * The running turn waits for a Claude Code process (every one the server may keep is
   * busy): its place in line, 1 being next. Null once anything else of the turn arrives.
   */
  queued?: number | null;
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

let counter = 0;
export const nextKey = (prefix: string): string => `${prefix}-${++counter}`;

/** The items of the stored history. */
export function fromHistory(rows: IHistoryRow[]): ChatItem[] {
  const items: ChatItem[] = [];
  for (const row of rows) {
    const c = row.content ?? {};
    const turnId = row.turn_id ?? null;
    const key = `h-${row.seq}`;
    switch (row.role) {
      case 'user':
        items.push({
          kind: 'user',
          key,
          turnId,
          text: String(c.text ?? ''),
          ...(Array.isArray(c.attachments)
            ? { attachments: c.attachments.map(String) }
            : {})
        });
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
        items.push(toolItem(key, turnId, c));
        break;
      case 'tool_result':
        setToolResult(items, c.tool_use_id, c.content, c.is_error, c.images);
        break;
      case 'usage':
        items.push(usageItem(key, turnId, c));
        break;
      case 'error':
        items.push({
          kind: 'error',
          key,
          turnId,
          message: String(
            c.message ?? untranslated.__('Something went wrong.')
          ),
          ...(c.message === undefined || c.message === null
            ? { say: (t: TranslationBundle) => t.__('Something went wrong.') }
            : {}),
          code: String(c.code ?? '')
        });
        break;
      case 'rewind':
        items.push({
          kind: 'notice',
          key,
          turnId,
          text: describeRewind(c),
          say: t => describeRewind(c, t)
        });
        break;
      default:
        break;
    }
  }
  return items;
}

/** A tool card, from a stored `tool_use` block or a live `tool_use` event (same fields). */
export function toolItem(key: string, turnId: string | null, c: any): ChatItem {
  return {
    kind: 'tool',
    key,
    turnId,
    id: String(c.id ?? ''),
    name: String(c.name ?? 'tool'),
    input: c.input ?? {},
    result: null,
    isError: false,
    runsGitHooks: c.runs_git_hooks === true
  };
}

export function usageItem(
  key: string,
  turnId: string | null,
  c: any
): ChatItem {
  return {
    kind: 'usage',
    key,
    turnId,
    usage: c.usage ?? {},
    // the turn's own cost (total_cost_usd is Claude Code's running total of the process)
    costUsd: typeof c.cost_usd === 'number' ? c.cost_usd : null,
    durationMs: typeof c.duration_ms === 'number' ? c.duration_ms : null,
    numTurns: typeof c.num_turns === 'number' ? c.num_turns : null
  };
}

/** Sets a tool card's result in place (a new object, so a memoized view re-renders). */
export function setToolResult(
  items: ChatItem[],
  toolUseId: string,
  content: any,
  isError: any,
  images?: any
): boolean {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item.kind === 'tool' && item.id === toolUseId) {
      const shown = resultImages(images);
      items[i] = {
        ...item,
        result: String(content ?? ''),
        isError: Boolean(isError),
        ...(shown.length ? { images: shown } : {})
      };
      return true;
    }
  }
  return false;
}

/** The user's own message, shown at once when sent. */
export function addUserMessage(
  state: IChatState,
  text: string,
  attachments: string[] = []
): IChatState {
  return {
    ...state,
    items: [
      ...state.items,
      {
        kind: 'user',
        key: nextKey('u'),
        turnId: null,
        text,
        ...(attachments.length ? { attachments } : {})
      }
    ]
  };
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
export function describeUsage(
  item: {
    usage: IUsage;
    costUsd: number | null;
    durationMs: number | null;
  },
  trans: TranslationBundle = untranslated
): string {
  const u = item.usage ?? {};
  const parts: string[] = [];
  const input =
    (u.input_tokens ?? 0) +
    (u.cache_read_input_tokens ?? 0) +
    (u.cache_creation_input_tokens ?? 0);
  parts.push(trans.__('%1 tokens in', input.toLocaleString('en-US')));
  parts.push(
    trans.__('%1 out', (u.output_tokens ?? 0).toLocaleString('en-US'))
  );
  if (item.costUsd !== null) {
    parts.push(`$${item.costUsd.toFixed(4)}`);
  }
  if (item.durationMs !== null) {
    parts.push(trans.__('%1 s', (item.durationMs / 1000).toFixed(1)));
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
