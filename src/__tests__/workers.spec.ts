import { describeWorker, healthOf, healthOfError, IWorker } from '../workers';

const worker = (id: string, status: string, extra: Partial<IWorker> = {}) => ({
  id,
  name: `build-${id}`,
  region: 'eu-west',
  features: ['chat'],
  status,
  version: '1.4.2',
  uptime: 3 * 3600,
  latency_ms: 38.4,
  error: null,
  ...extra
});

describe('worker health', () => {
  it('is up when every worker is up', () => {
    const health = healthOf({
      workers: [worker('1', 'up'), worker('2', 'up')],
      timestamp: '2026-01-01T00:00:00Z'
    });
    expect(health.state).toBe('up');
    expect(health.label).toBe('Workers: up');
    expect(health.details).toEqual([
      'build-1 (eu-west): up · v1.4.2 · 38 ms · up 3 h',
      'build-2 (eu-west): up · v1.4.2 · 38 ms · up 3 h'
    ]);
  });

  it('is degraded when some are down or degraded', () => {
    const some = healthOf({
      workers: [
        worker('1', 'up'),
        worker('2', 'down', { error: 'connection refused', latency_ms: null })
      ]
    });
    expect(some.state).toBe('degraded');
    expect(some.label).toBe('Workers: degraded (1 of 2 up)');
    expect(some.details[1]).toBe(
      'build-2 (eu-west): down · v1.4.2 · connection refused'
    );
    expect(
      healthOf({ workers: [worker('1', 'up'), worker('2', 'degraded')] }).state
    ).toBe('degraded');
    expect(healthOf({ workers: [worker('1', 'degraded')] }).state).toBe(
      'degraded'
    );
  });

  it('is down when all are down or unreachable', () => {
    const health = healthOf({
      workers: [
        worker('1', 'down', { error: 'timed out' }),
        worker('2', 'unreachable' as any)
      ]
    });
    expect(health.state).toBe('down');
    expect(health.label).toBe('Workers: down');
    expect(health.details[1]).toMatch(/^build-2 \(eu-west\): down/);
    expect(healthOf({ workers: [] }).state).toBe('down');
    expect(healthOf({ workers: [] }).label).toBe('Workers: none');
  });

  it('is not available when the server has no worker status (404)', () => {
    const health = healthOfError(404, 'The worker status is gone: Not Found');
    expect(health.state).toBe('unavailable');
    expect(health.label).toBe('Workers: not available');
    expect(healthOfError(0, 'The server cannot be reached.').state).toBe(
      'unknown'
    );
    expect(healthOfError(403, 'Access denied').details[0]).toMatch(
      /could not be read: Access denied/
    );
  });

  it('names a worker by id when it has no name', () => {
    expect(describeWorker({ id: 'w9', status: 'up' })).toBe('w9: up');
  });
});
