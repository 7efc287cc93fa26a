import {
  backoffDelay,
  isRetryable,
  isSafeToRepeat,
  retryAfterMs,
  withRetries
} from '../retry';

/** A try's outcome: status 0 is the network (no answer). */
const answer = (status: number, headers: Record<string, string> = {}) => ({
  status,
  value: status,
  response: status ? new Response('{}', { status, headers }) : null
});

describe('backoffDelay', () => {
  it('waits about 1 s, 2 s, 4 s, then at most 8 s, half of it random', () => {
    const low = [1, 2, 3, 4, 5].map(n => backoffDelay(n, 0, () => 0));
    const high = [1, 2, 3, 4, 5].map(n => backoffDelay(n, 0, () => 1));
    expect(low).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(high).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it("never waits less than the server's Retry-After, nor more than 5 min for it", () => {
    expect(backoffDelay(1, 20_000, () => 1)).toBe(20_000);
    expect(backoffDelay(3, 1_000, () => 1)).toBe(4000);
    expect(backoffDelay(1, 3_600_000, () => 1)).toBe(300_000);
  });

  it('reads Retry-After in seconds only', () => {
    const said = (value: string) =>
      retryAfterMs(new Response('', { headers: { 'Retry-After': value } }));
    expect(said('7')).toBe(7000);
    expect(said('Wed, 21 Oct 2026 07:28:00 GMT')).toBe(0);
    expect(said('-3')).toBe(0);
    expect(retryAfterMs(null)).toBe(0);
  });
});

describe('withRetries', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Math, 'random').mockReturnValue(1); // the top of each jittered wait
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('tries a network error, 502 and 503 again after 1 s, 2 s and 4 s', async () => {
    const statuses = [0, 502, 503, 200];
    const attempt = jest.fn(async () => answer(statuses.shift()!));
    const done = withRetries(attempt);
    await jest.advanceTimersByTimeAsync(999);
    expect(attempt).toHaveBeenCalledTimes(1); // not before the second is up
    await jest.advanceTimersByTimeAsync(1);
    expect(attempt).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(2000);
    expect(attempt).toHaveBeenCalledTimes(3);
    await jest.advanceTimersByTimeAsync(4000);
    await expect(done).resolves.toMatchObject({ status: 200 });
    expect(attempt).toHaveBeenCalledTimes(4);
  });

  it('gives up after three retries with the last answer', async () => {
    const attempt = jest.fn(async () => answer(503));
    const done = withRetries(attempt);
    await jest.advanceTimersByTimeAsync(60_000);
    await expect(done).resolves.toMatchObject({ status: 503 });
    expect(attempt).toHaveBeenCalledTimes(4);
  });

  it('waits as long as a 503 asks with Retry-After', async () => {
    const answers = [answer(503, { 'Retry-After': '30' }), answer(200)];
    const attempt = jest.fn(async () => answers.shift()!);
    const done = withRetries(attempt);
    await jest.advanceTimersByTimeAsync(29_999);
    expect(attempt).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    await expect(done).resolves.toMatchObject({ status: 200 });
  });

  it('does not try other answers again, nor anything with retries: 0', async () => {
    for (const status of [200, 400, 404, 409, 429, 500, 504]) {
      const attempt = jest.fn(async () => answer(status));
      await expect(withRetries(attempt)).resolves.toMatchObject({ status });
      expect(attempt).toHaveBeenCalledTimes(1);
    }
    const attempt = jest.fn(async () => answer(503));
    await expect(withRetries(attempt, { retries: 0 })).resolves.toMatchObject({
      status: 503
    });
    expect(attempt).toHaveBeenCalledTimes(1);
    expect([0, 502, 503, 500, 429].map(isRetryable)).toEqual([
      true,
      true,
      true,
      false,
      false
    ]);
  });

  it('repeats reads always, other methods only with an idempotency key', () => {
    expect(isSafeToRepeat('GET')).toBe(true);
    expect(isSafeToRepeat('head')).toBe(true);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      expect(isSafeToRepeat(method)).toBe(false);
      expect(isSafeToRepeat(method, 'a-key')).toBe(true);
    }
  });
});
