/**
 * Errors of the lawless REST API, in words a person can act on. Plain TypeScript (no
 * JupyterLab imports) so the logic is testable without a browser.
 */

/** The JSON body every lawless error has (a 429 adds the quota fields). */
export interface IErrorBody {
  error?: string;
  code?: string;
  details?: { [key: string]: any };
  retryAfter?: number;
  limit?: number;
  remaining?: number;
  reset?: number;
}

/** An answer that was not a success, or a server that could not be reached (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: IErrorBody = {}
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get code(): string {
    return this.body.code ?? (this.status ? `http_${this.status}` : 'network');
  }

  get details(): { [key: string]: any } {
    return this.body.details ?? {};
  }
}

/** A clock time such as "14:05", or a date and time when it is not today. */
export function clockTime(unixSeconds: number, now: Date = new Date()): string {
  const when = new Date(unixSeconds * 1000);
  const time = when.toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit'
  });
  if (when.toDateString() === now.toDateString()) {
    return time;
  }
  return `${when.toLocaleDateString()} ${time}`;
}

/** "in 45 s", "in 3 min", "in 2 h". */
export function inDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `in ${s} s`;
  }
  if (s < 3600) {
    return `in ${Math.round(s / 60)} min`;
  }
  return `in ${Math.round(s / 3600)} h`;
}

/**
 * The message to show for an error answer. `what` names the thing asked about
 * ("the session", "the chat turn") for a 404.
 */
export function describeError(
  status: number,
  body: IErrorBody | null | undefined,
  what = 'what you asked for',
  now: Date = new Date()
): string {
  const said = body?.error?.trim();
  switch (status) {
    case 0:
      return 'The Jupyter server cannot be reached. Check that it is still running and try again.';
    case 403:
      return `Access denied${said ? `: ${said}` : '. You may need to log in again (reload the page).'}`;
    case 404:
      return `${capitalize(what)} is gone${said ? `: ${said}` : ' (it may have been deleted).'}`;
    case 429: {
      const parts = [said || 'A limit was reached.'];
      if (typeof body?.limit === 'number') {
        parts.push(`The limit is ${body.limit}.`);
      }
      if (typeof body?.reset === 'number') {
        const wait = body.reset - now.getTime() / 1000;
        parts.push(
          `It resets at ${clockTime(body.reset, now)} (${inDuration(wait)}).`
        );
      } else if (typeof body?.retryAfter === 'number') {
        parts.push(`Try again ${inDuration(body.retryAfter)}.`);
      }
      return parts.join(' ');
    }
    case 502:
    case 503:
      return `The server is not answering right now (${status}). Try again in a moment.`;
    case 504:
      return (
        said ||
        'The operation took too long and was stopped; nothing was changed.'
      );
    default:
      return said || `The request failed (${status}).`;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
