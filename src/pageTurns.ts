/**
 * The chats of one page that show the same session (the sidebar's compact chat and its
 * main-area tab): while one of them reads a turn the others send nothing, and they are
 * told when a turn starts (so they follow it with a stream of their own, from its start)
 * and when an approval is answered (so its card stops asking). Each viewer keeps its own
 * reader (`TurnReaders`): applying events is idempotent, so two streams of one turn never
 * show anything twice.
 */

/** What one viewer tells the others of the same session. */
export type PageTurnNews =
  | { type: 'started'; text: string; attachments: string[] }
  | {
      type: 'answered';
      requestId: string;
      allow: boolean;
      remember: boolean;
    };

type Listener = (news: PageTurnNews) => void;

export class PageTurns {
  private reading = new Map<string, number>();
  private viewers = new Map<string, Map<object, Listener>>();

  /** Whether any viewer of the session reads one of its turns now. */
  busy(sessionId: string): boolean {
    return (this.reading.get(sessionId) ?? 0) > 0;
  }

  /** A viewer reads a turn of the session; returns its release. */
  claim(sessionId: string): () => void {
    this.reading.set(sessionId, (this.reading.get(sessionId) ?? 0) + 1);
    let released = false;
    return () => {
      if (!released) {
        released = true;
        const left = (this.reading.get(sessionId) ?? 1) - 1;
        if (left > 0) {
          this.reading.set(sessionId, left);
        } else {
          this.reading.delete(sessionId);
        }
      }
    };
  }

  /** Hear what the session's other viewers tell; returns the unsubscribe. */
  listen(sessionId: string, viewer: object, fn: Listener): () => void {
    let mine = this.viewers.get(sessionId);
    if (!mine) {
      mine = new Map();
      this.viewers.set(sessionId, mine);
    }
    mine.set(viewer, fn);
    return () => {
      mine?.delete(viewer);
      if (mine?.size === 0) {
        this.viewers.delete(sessionId);
      }
    };
  }

  /** Tell every other viewer of the session. */
  tell(sessionId: string, from: object, news: PageTurnNews): void {
    for (const [viewer, fn] of this.viewers.get(sessionId) ?? []) {
      if (viewer !== from) {
        fn(news);
      }
    }
  }
}

/** The page's one registry. */
export const pageTurns = new PageTurns();
