/**
 * Trying again what is safe to repeat: the one backoff of the panel's requests (`api.ts`)
 * and of the chat stream's re-attach (`sse.ts`).
 *
 * Only a failure that may pass is tried again: the network (status 0), 502 and 503. A read
 * is safe to repeat; a POST only with its `Idempotency-Key` (the server answers a repeated
 * key with the first answer instead of doing the work twice). Without a key, a POST that
 * failed that way may have been done all the same: the person sees the error and decides.
 *
 * Plain TypeScript (no JupyterLab imports), tested with jest's fake timers.
 */

/** The first wait; each next one doubles, up to `MAX_DELAY_MS`. */
export const BASE_DELAY_MS = 1000;
export const MAX_DELAY_MS = 8000;
/** A server asking for a longer wait than this is asked again sooner. */
export const MAX_RETRY_AFTER_MS = 300_000;
/** Retries of a request before its error shows (after about 1 s, 2 s and 4 s). */
export const REQUEST_RETRIES = 3;

/** Whether a failed try is worth another: the network, 502 and 503. */
export function isRetryable(status: number): boolean {
  return status === 0 || status === 502 || status === 503;
}

/**
 * The wait after `failures` failed tries in a row: 1 s, 2 s, 4 s, 8 s at most, each half
 * fixed and half random (so that many panels do not come back at once), never shorter than
 * the server's `Retry-After`.
 */
export function backoffDelay(
  failures: number,
  retryAfterMs = 0,
  random: () => number = Math.random
): number {
  const ceiling = Math.min(
    MAX_DELAY_MS,
    BASE_DELAY_MS * 2 ** Math.max(0, failures - 1)
  );
  const delay = ceiling / 2 + (random() * ceiling) / 2;
  return Math.max(delay, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

/** A `Retry-After` header in milliseconds (seconds only; 0 when missing or not a number). */
export function retryAfterMs(response: Response | null | undefined): number {
  const value = response?.headers.get('Retry-After');
  const seconds = value ? Number(value) : NaN;
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

/** Whether a request may be sent again: reads always, other methods with their key. */
export function isSafeToRepeat(
  method: string,
  idempotencyKey?: string
): boolean {
  const m = method.toUpperCase();
  return m === 'GET' || m === 'HEAD' || !!idempotencyKey;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise(resolve => setTimeout(resolve, ms));

/** One try's outcome: its status (0 for the network), what it gave, its answer if any. */
export interface ITry<T> {
  status: number;
  value: T;
  response?: Response | null;
}

/**
 * Run `attempt` until it gives an outcome that is not retryable or `retries` retries were
 * made, waiting `backoffDelay` in between (the answer's `Retry-After` when longer).
 */
export async function withRetries<T>(
  attempt: () => Promise<ITry<T>>,
  options: { retries?: number; signal?: AbortSignal } = {}
): Promise<ITry<T>> {
  const retries = options.retries ?? REQUEST_RETRIES;
  for (let failures = 1; ; failures++) {
    const result = await attempt();
    if (
      !isRetryable(result.status) ||
      failures > retries ||
      options.signal?.aborted
    ) {
      return result;
    }
    await sleep(backoffDelay(failures, retryAfterMs(result.response)));
  }
}
