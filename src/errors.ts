/**
 * Errors of the lawless REST API, in words a person can act on. Plain TypeScript (only the
 * translation bundle from JupyterLab) so the logic is testable without a browser.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import { untranslated } from './translation';

/**
 * The bundle the messages are written with: the API client is one module for every view,
 * so the plugin sets the person's language here once (English until then).
 */
let trans: TranslationBundle = untranslated;

export function setErrorTranslation(bundle: TranslationBundle): void {
  trans = bundle;
}

/** The bundle the panel's own error messages are written with. */
export const errorTranslation = (): TranslationBundle => trans;

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

/**
 * What a request asks about, named in a 404's message ("the session"): a proper name, or
 * a phrase in the bundle's language.
 */
export type Thing = string | ((trans: TranslationBundle) => string);

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
    return trans.__('in %1 s', s);
  }
  if (s < 3600) {
    return trans.__('in %1 min', Math.round(s / 60));
  }
  return trans.__('in %1 h', Math.round(s / 3600));
}

/**
 * The message to show for an error answer. `what` names the thing asked about
 * ("the session", "the chat turn") for a 404.
 */
export function describeError(
  status: number,
  body: IErrorBody | null | undefined,
  thing: Thing = t => t.__('what you asked for'),
  now: Date = new Date()
): string {
  const said = body?.error?.trim();
  const what = typeof thing === 'function' ? thing(trans) : thing;
  switch (status) {
    case 0:
      return trans.__(
        'The Jupyter server cannot be reached. Check that it is still running and try again.'
      );
    case 403:
      return said
        ? trans.__('Access denied: %1', said)
        : trans.__(
            'Access denied. You may need to log in again (reload the page).'
          );
    case 404:
      return said
        ? trans.__('%1 is gone: %2', capitalize(what), said)
        : trans.__('%1 is gone (it may have been deleted).', capitalize(what));
    case 429: {
      const parts = [said || trans.__('A limit was reached.')];
      if (typeof body?.limit === 'number') {
        parts.push(trans.__('The limit is %1.', body.limit));
      }
      if (typeof body?.reset === 'number') {
        const wait = body.reset - now.getTime() / 1000;
        parts.push(
          trans.__(
            'It resets at %1 (%2).',
            clockTime(body.reset, now),
            inDuration(wait)
          )
        );
      } else if (typeof body?.retryAfter === 'number') {
        parts.push(trans.__('Try again %1.', inDuration(body.retryAfter)));
      }
      return parts.join(' ');
    }
    case 502:
    case 503:
      return trans.__(
        'The server is not answering right now (%1). Try again in a moment.',
        status
      );
    case 504:
      return (
        said ||
        trans.__(
          'The operation took too long and was stopped; nothing was changed.'
        )
      );
    default:
      return said || trans.__('The request failed (%1).', status);
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
