/**
 * The lawless REST API under `{base_url}lawless/`, over Jupyter's own ServerConnection so
 * the login cookie, the token and the XSRF header go with every request.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { UUID } from '@lumino/coreutils';

import { IAttempt } from './attempts';
import { ApiError, describeError, IErrorBody, Thing } from './errors';
import { ISession } from './format';
import { isSafeToRepeat, ITry, withRetries } from './retry';
import { followTurn, FollowResult, IChatEvent, StreamError } from './sse';
import { ITurn } from './turns';

export { ApiError };

function url(path: string): {
  url: string;
  settings: ServerConnection.ISettings;
} {
  const settings = ServerConnection.makeSettings();
  return { url: URLExt.join(settings.baseUrl, 'lawless', path), settings };
}

/** The key of one action the person takes, sent with each try of its POST. */
export const newIdempotencyKey = (): string => UUID.uuid4();

async function send(
  path: string,
  init: RequestInit
): Promise<ITry<Response | null>> {
  const { url: full, settings } = url(path);
  try {
    const response = await ServerConnection.makeRequest(full, init, settings);
    return { status: response.status, value: response, response };
  } catch (error) {
    if ((init.signal as AbortSignal | undefined)?.aborted) {
      throw error;
    }
    return { status: 0, value: null }; // the network
  }
}

/**
 * Send `init` to `path`, again after a network error, 502 or 503 when that is safe: a read,
 * or a request with an `Idempotency-Key` (the same key on every try).
 */
function sendWithRetries(
  path: string,
  init: RequestInit,
  idempotencyKey?: string
): Promise<ITry<Response | null>> {
  const headers = new Headers(init.headers);
  if (idempotencyKey) {
    headers.set('Idempotency-Key', idempotencyKey);
  }
  const keyed = { ...init, headers };
  const safe = isSafeToRepeat(init.method ?? 'GET', idempotencyKey);
  return withRetries(() => send(path, keyed), {
    retries: safe ? undefined : 0,
    signal: init.signal ?? undefined
  });
}

async function errorFrom(
  response: Response | null,
  what: Thing
): Promise<ApiError> {
  if (!response) {
    return new ApiError(0, describeError(0, null, what));
  }
  let body: IErrorBody = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  return new ApiError(
    response.status,
    describeError(response.status, body, what),
    body
  );
}

/**
 * A JSON request. A network error, 502 or 503 is retried after about 1 s, 2 s and 4 s for a
 * read, and for another method only with `idempotencyKey` (see `retry.ts`); any other
 * failure is an `ApiError` whose message is written for a person.
 */
export async function request<T = any>(
  path: string,
  options: {
    method?: string;
    body?: any;
    what?: Thing;
    signal?: AbortSignal;
    /** One action's key (`newIdempotencyKey`): the server does it once however often sent. */
    idempotencyKey?: string;
  } = {}
): Promise<T> {
  const init: RequestInit = {
    method: options.method ?? 'GET',
    signal: options.signal
  };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  const { status, value } = await sendWithRetries(
    path,
    init,
    options.idempotencyKey
  );
  if (!value || status < 200 || status >= 300) {
    throw await errorFrom(
      value,
      options.what ?? (t => t.__('what you asked for'))
    );
  }
  const text = await value.text();
  return (text ? JSON.parse(text) : {}) as T;
}

const sessionPath = (id: string, rest = ''): string =>
  `api/workspace/sessions/${encodeURIComponent(id)}${rest}`;

function attemptPath(id: string, rest = ''): string {
  return `api/workspace/attempts/${encodeURIComponent(id)}${rest}`;
}

export const api = {
  listSessions: (): Promise<{ sessions: ISession[] }> =>
    request('api/workspace/sessions', {
      what: t => t.__('the list of sessions')
    }),

  getSession: (id: string): Promise<{ session: ISession }> =>
    request(sessionPath(id), { what: t => t.__('the session') }),

  createSession: (body: {
    repo: string;
    base?: string;
    name?: string;
  }): Promise<{ session: ISession }> =>
    request('api/workspace/sessions', {
      method: 'POST',
      body,
      what: t => t.__('the repository'),
      idempotencyKey: newIdempotencyKey()
    }),

  deleteSession: (id: string, force = false): Promise<any> =>
    request(sessionPath(id, force ? '?force=true' : ''), {
      method: 'DELETE',
      what: t => t.__('the session')
    }),

  messages: (
    id: string,
    after = 0
  ): Promise<{ messages: any[]; next_after: number | null }> =>
    request(sessionPath(id, `/messages?after=${after}&limit=1000`), {
      what: t => t.__('the session')
    }),

  /** The session's turns, each with the checkpoint made before it. */
  turns: (id: string): Promise<{ turns: ITurn[] }> =>
    request(sessionPath(id, '/turns'), { what: t => t.__('the session') }),

  /** Put the worktree and the conversation back to before a turn. */
  rewind: (id: string, turn: string): Promise<{ rewound: string[] }> =>
    request(sessionPath(id, '/rewind'), {
      method: 'POST',
      body: { turn },
      what: t => t.__('the turn'),
      idempotencyKey: newIdempotencyKey()
    }),

  /** A new session from this one now, or from before `turn`. */
  fork: (
    id: string,
    body: { turn?: string; name?: string }
  ): Promise<{ session: ISession }> =>
    request(sessionPath(id, '/fork'), {
      method: 'POST',
      body,
      what: t => t.__('the turn'),
      idempotencyKey: newIdempotencyKey()
    }),

  cancel: (id: string): Promise<any> =>
    request(sessionPath(id, '/chat/cancel'), {
      method: 'POST',
      what: t => t.__('the chat turn')
    }),

  answer: (
    id: string,
    requestId: string,
    decision: 'allow' | 'deny',
    remember: boolean
  ) =>
    request(
      sessionPath(id, `/chat/approvals/${encodeURIComponent(requestId)}`),
      {
        method: 'POST',
        body: { decision, remember },
        what: t => t.__('the approval request'),
        idempotencyKey: newIdempotencyKey()
      }
    ),

  /** What "Always allow" remembered in the session. */
  rules: (id: string): Promise<{ rules: string[] }> =>
    request(sessionPath(id, '/chat/rules'), { what: t => t.__('the session') }),

  /** Forget one remembered rule, or all of them without `rule`. */
  forgetRule: (id: string, rule?: string): Promise<{ rules: string[] }> =>
    request(
      sessionPath(
        id,
        rule === undefined
          ? '/chat/rules'
          : `/chat/rules?rule=${encodeURIComponent(rule)}`
      ),
      { method: 'DELETE', what: t => t.__('the remembered rule') }
    ),

  status: (id: string): Promise<any> =>
    request(sessionPath(id, '/git/status'), { what: t => t.__('the session') }),

  /** The session's diff; `filesOnly`: the file list without the patch. */
  diff: (
    id: string,
    against: 'base' | 'head' = 'base',
    filesOnly = false
  ): Promise<any> =>
    request(
      sessionPath(
        id,
        `/git/diff?against=${against}${filesOnly ? '&files_only=true' : ''}`
      ),
      { what: t => t.__('the session') }
    ),

  /** One changed notebook, cell by cell, in nbdime's format. */
  notebookDiff: (
    id: string,
    path: string,
    against: 'base' | 'head' = 'base'
  ): Promise<any> =>
    request(
      sessionPath(
        id,
        `/git/notebook-diff?path=${encodeURIComponent(path)}&against=${against}`
      ),
      { what: t => t.__('the notebook') }
    ),

  /** One changed file's old and new text, whole (the diff tab's merge view). */
  fileVersions: (
    id: string,
    path: string,
    against: 'base' | 'head' = 'base'
  ): Promise<{ old: string | null; new: string | null; binary: boolean }> =>
    request(
      sessionPath(
        id,
        `/git/file-versions?path=${encodeURIComponent(path)}&against=${against}`
      ),
      { what: t => t.__('the file') }
    ),

  commit: (id: string, message: string): Promise<any> =>
    request(sessionPath(id, '/git/commit'), {
      method: 'POST',
      body: { message },
      what: t => t.__('the session'),
      idempotencyKey: newIdempotencyKey()
    }),

  /** The worktree's files (tracked, and untracked not ignored), for @-mentions. */
  files: (id: string): Promise<{ files: string[]; truncated: boolean }> =>
    request(sessionPath(id, '/git/files'), { what: t => t.__('the session') }),

  merge: (id: string, strategy: string): Promise<any> =>
    request(sessionPath(id, '/git/merge'), {
      method: 'POST',
      body: { strategy },
      what: t => t.__('the session'),
      idempotencyKey: newIdempotencyKey()
    }),

  createTerminal: (id: string): Promise<{ terminal: { name: string } }> =>
    request(sessionPath(id, '/terminals'), {
      method: 'POST',
      what: t => t.__('the session'),
      idempotencyKey: newIdempotencyKey()
    }),

  /** Start one task in `n` sessions at once (best-of-N). */
  createAttempt: (body: {
    repo: string;
    base?: string;
    prompt: string;
    n: number;
    models?: string[];
    check?: string;
  }): Promise<{ attempt: IAttempt }> =>
    request('api/workspace/attempts', {
      method: 'POST',
      body,
      what: t => t.__('the repository'),
      idempotencyKey: newIdempotencyKey()
    }),

  listAttempts: (): Promise<{ attempts: Partial<IAttempt>[] }> =>
    request('api/workspace/attempts', { what: t => t.__('your attempts') }),

  getAttempt: (id: string): Promise<{ attempt: IAttempt }> =>
    request(attemptPath(id), { what: t => t.__('the attempt') }),

  /** The same follow-up message to every session of the attempt. */
  followUpAttempt: (
    id: string,
    message: string
  ): Promise<{ attempt: IAttempt }> =>
    request(attemptPath(id, '/chat'), {
      method: 'POST',
      body: { message },
      what: t => t.__('the attempt'),
      idempotencyKey: newIdempotencyKey()
    }),

  /** Keep one session, delete the others (their branches stay unless dropped). */
  chooseAttempt: (
    id: string,
    session: string,
    options: { force?: boolean; drop_branches?: boolean } = {}
  ): Promise<{ attempt: IAttempt; deleted: any[] }> =>
    request(attemptPath(id, '/choose'), {
      method: 'POST',
      body: { session, ...options },
      what: t => t.__('the attempt'),
      idempotencyKey: newIdempotencyKey()
    }),

  listTerminals: (
    id: string
  ): Promise<{ terminals: { name: string; running: boolean }[] }> =>
    request(sessionPath(id, '/terminals'), { what: t => t.__('the session') }),

  closeTerminal: (id: string, name: string): Promise<any> =>
    request(sessionPath(id, `/terminals/${encodeURIComponent(name)}`), {
      method: 'DELETE',
      what: t => t.__('the terminal')
    }),

  /** The person's preferences, kept by the server (and mirrored to Supabase). */
  preferences: (): Promise<{ preferences: IPreferences }> =>
    request('api/user/preferences', { what: t => t.__('your preferences') }),

  savePreferences: (
    preferences: IPreferences
  ): Promise<{ preferences: IPreferences }> =>
    request('api/user/preferences', {
      method: 'PUT',
      body: { preferences },
      what: t => t.__('your preferences')
    })
};

/** What `api/user/preferences` holds (see openapi.yaml `Preferences`). */
export interface IPreferences {
  permission_mode?: string;
  model?: string;
  panel?: Record<string, unknown>;
  /** Commits hold notebooks without outputs and execution counts. */
  strip_notebook_outputs?: boolean;
}

export interface IChatCallbacks {
  onEvent: (event: IChatEvent, id: string | null, prev: string | null) => void;
  onReconnecting?: (attempt: number) => void;
  signal?: AbortSignal;
}

/** A turn's event stream: a GET (re-attach), or the POST that starts it, with its key. */
async function openStream(
  path: string,
  init: RequestInit,
  what: Thing,
  idempotencyKey?: string
): Promise<Response> {
  const { status, value } = await sendWithRetries(path, init, idempotencyKey);
  if (!value || status !== 200) {
    throw await errorFrom(value, what);
  }
  return value;
}

function reattacher(id: string, signal?: AbortSignal) {
  return async (lastEventId: string | null): Promise<Response> => {
    const { url: full, settings } = url(sessionPath(id, '/chat/stream'));
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (lastEventId) {
      headers['Last-Event-ID'] = lastEventId;
    }
    return ServerConnection.makeRequest(
      full,
      { method: 'GET', headers, signal },
      settings
    );
  };
}

async function follow(
  id: string,
  response: Response,
  callbacks: IChatCallbacks,
  lastEventId: string | null
): Promise<FollowResult> {
  try {
    return await followTurn(response, {
      reattach: reattacher(id, callbacks.signal),
      onEvent: callbacks.onEvent,
      onReconnecting: callbacks.onReconnecting,
      signal: callbacks.signal,
      lastEventId
    });
  } catch (error) {
    if (error instanceof StreamError) {
      throw new ApiError(
        error.status,
        describeError(error.status, error.body, t => t.__('the chat turn')),
        error.body ?? {}
      );
    }
    throw error;
  }
}

/**
 * Send a message: `POST .../chat` answers the turn as text/event-stream. Tried again after
 * a network error, 502 or 503 with the same `Idempotency-Key`: the server starts one turn
 * and answers a repeat with that turn's stream. A drop mid-stream re-attaches (`follow`).
 */
export async function sendMessage(
  id: string,
  message: string,
  callbacks: IChatCallbacks,
  attachments: { name: string; text: string }[] = []
): Promise<FollowResult> {
  let response: Response;
  try {
    response = await openStream(
      sessionPath(id, '/chat'),
      {
        method: 'POST',
        body: JSON.stringify(
          attachments.length ? { message, attachments } : { message }
        ),
        headers: {
          'Content-Type': 'application/json',
          Accept: 'text/event-stream'
        },
        signal: callbacks.signal
      },
      t => t.__('the session'),
      newIdempotencyKey()
    );
  } catch (error) {
    if (callbacks.signal?.aborted) {
      return { outcome: 'aborted', lastEventId: null };
    }
    throw error;
  }
  return follow(id, response, callbacks, null);
}

/** Re-attach to the session's latest turn (after a reload): `GET .../chat/stream`. */
export async function attachTurn(
  id: string,
  lastEventId: string | null,
  callbacks: IChatCallbacks
): Promise<FollowResult> {
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (lastEventId) {
    headers['Last-Event-ID'] = lastEventId;
  }
  const response = await openStream(
    sessionPath(id, '/chat/stream'),
    { method: 'GET', headers, signal: callbacks.signal },
    t => t.__('the chat turn')
  );
  return follow(id, response, callbacks, lastEventId);
}
