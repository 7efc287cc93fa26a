/**
 * Resuming a running turn after a reload, from the last event the panel rendered.
 *
 * The server keeps a running turn's events numbered (`id: <turn>-<seq>`) and streams only
 * those after `Last-Event-ID`. The stored history has whole blocks only (an answer is
 * written there once complete), so the part of the turn already on screen is kept here:
 * the turn's items together with the id of the last event they include, saved as one
 * snapshot. A snapshot is always consistent (items == events up to its id), so an older
 * one only means a longer replay, never a doubled or missing delta.
 *
 * Plain TypeScript over a `Storage`-like object (the browser's localStorage), unit-tested.
 */
import { ChatItem, emptyChat, IChatState, parseEventId } from './chat';

/** What is kept of a running turn. */
export interface IRunningTurn {
  turnId: string;
  /** The id of the last event applied to `items`, e.g. "3-17". */
  lastEventId: string;
  /** The turn's items as rendered (not the person's message: history has it). */
  items: ChatItem[];
  /** Its place in line for a Claude Code process, while it waits for one. */
  queued?: number | null;
}

export interface IStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const storageKey = (sessionId: string): string =>
  `lawless-jupyter:running-turn:${sessionId}`;

/** The running turn of `state`, or null when nothing is running or nothing arrived yet. */
export function snapshotOf(state: IChatState): IRunningTurn | null {
  const { turnId, lastEventId } = state;
  if (!state.running || !turnId || !lastEventId) {
    return null;
  }
  return {
    turnId,
    lastEventId,
    items: state.items.filter(
      item => item.turnId === turnId && item.kind !== 'user'
    ),
    queued: state.queued ?? null
  };
}

/**
 * The chat to show before re-attaching: the stored history, with what it has of the
 * running turn replaced by the snapshot (which has the partial answer too).
 */
export function resumeState(
  history: ChatItem[],
  saved: IRunningTurn | null
): IChatState {
  if (!saved) {
    return { ...emptyChat(), items: history };
  }
  const kept = history.filter(
    item => !(item.turnId === saved.turnId && item.kind !== 'user')
  );
  // fresh keys: the item counter starts again after a reload
  const restored = saved.items.map(item => ({
    ...item,
    key: `restored-${item.key}`
  }));
  return {
    items: [...kept, ...restored],
    running: true,
    turnId: saved.turnId,
    lastEventId: saved.lastEventId,
    marks: {},
    queued: saved.queued ?? null
  };
}

/**
 * Whether the first event of a re-attached stream continues the snapshot. When it does
 * not (another turn started meanwhile, so the server replays that one from its start),
 * the snapshot is dropped and the history shown as stored.
 */
export function continues(
  saved: IRunningTurn | null,
  firstEventId: string | null
): boolean {
  const from = parseEventId(saved?.lastEventId ?? null);
  const next = parseEventId(firstEventId);
  return !!from && !!next && from.turn === next.turn && next.seq > from.seq;
}

/**
 * Keeps the snapshot of one session's running turn in storage: at most every
 * `intervalMs` while events arrive, and at once on `flush()` (the page going away).
 */
export class TurnKeeper {
  private latest: IChatState | null = null;
  private savedAt = -Infinity;

  constructor(
    private readonly storage: IStorageLike | null,
    private readonly sessionId: string,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = 500
  ) {}

  /** The snapshot saved by an earlier page, if any. */
  load(): IRunningTurn | null {
    try {
      const text = this.storage?.getItem(storageKey(this.sessionId));
      const value = text ? JSON.parse(text) : null;
      if (
        value &&
        typeof value.turnId === 'string' &&
        typeof value.lastEventId === 'string' &&
        Array.isArray(value.items)
      ) {
        return value as IRunningTurn;
      }
    } catch {
      // unreadable: start from history
    }
    return null;
  }

  /** Told every new state; saves a running turn now and then. */
  update(state: IChatState): void {
    if (!snapshotOf(state)) {
      return; // not running (or ended by an abort): leave the saved one alone
    }
    this.latest = state;
    if (this.now() - this.savedAt >= this.intervalMs) {
      this.flush();
    }
  }

  /** Save the latest running state now. */
  flush(): void {
    const snapshot = this.latest ? snapshotOf(this.latest) : null;
    if (!snapshot || !this.storage) {
      return;
    }
    this.savedAt = this.now();
    try {
      this.storage.setItem(
        storageKey(this.sessionId),
        JSON.stringify(snapshot)
      );
    } catch {
      // storage full or disabled: a reload then replays the turn from its start
    }
  }

  /** The turn is over (done, or gone on the server): nothing to resume. */
  clear(): void {
    this.latest = null;
    try {
      this.storage?.removeItem(storageKey(this.sessionId));
    } catch {
      // nothing to do
    }
  }
}

/**
 * The streams of a session's turns this page is reading: at most one per turn. A re-attach
 * (after a reload, a drop, or for another tab's turn) starts only when none is read: a
 * second reader beside a live one would apply the same turn twice.
 */
export class TurnReaders {
  private count = 0;

  /** A stream is being read (a send's answer, or a re-attach). */
  get reading(): boolean {
    return this.count > 0;
  }

  /** Take the session's stream now (synchronously); returns its release. */
  claim(): () => void {
    this.count += 1;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.count -= 1;
      }
    };
  }
}

/**
 * Whether to re-attach to the session's turn after opening it: only when the server says
 * a turn runs (state `connected`) and no stream of it is being read here already (the
 * person sent a message while the history loaded: its answer is being read).
 */
export function shouldReattach(
  readers: TurnReaders,
  sessionState: string
): boolean {
  return sessionState === 'connected' && !readers.reading;
}
