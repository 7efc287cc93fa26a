/**
 * Worker health for the status bar: `GET {base}lawless/api/workers/status` mapped to one
 * state a person reads at a glance, and a line per worker for the details.
 * Plain TypeScript, unit-tested.
 */

export interface IWorker {
  id: string;
  name?: string;
  region?: string;
  features?: string[];
  status: 'up' | 'degraded' | 'down' | string;
  version?: string | null;
  uptime?: number | null;
  latency_ms?: number | null;
  error?: string | null;
}

export interface IWorkersStatus {
  workers: IWorker[];
  timestamp?: string;
}

/** `unavailable`: the server has no worker status (404); `unknown`: it could not be asked. */
export type HealthState =
  'up' | 'degraded' | 'down' | 'unavailable' | 'unknown';

export interface IHealth {
  state: HealthState;
  /** The status bar's text, e.g. "Workers: degraded". */
  label: string;
  /** One line each, for the tooltip and the details dialog. */
  details: string[];
}

/** All up: up. All down (or unreachable): down. Anything between: degraded. */
export function healthOf(body: IWorkersStatus): IHealth {
  const workers = Array.isArray(body?.workers) ? body.workers : [];
  if (workers.length === 0) {
    return {
      state: 'down',
      label: 'Workers: none',
      details: ['No worker is registered with this server.']
    };
  }
  const up = workers.filter(w => w.status === 'up').length;
  const down = workers.filter(
    w => w.status !== 'up' && w.status !== 'degraded'
  ).length;
  const state: HealthState =
    up === workers.length
      ? 'up'
      : down === workers.length
        ? 'down'
        : 'degraded';
  let label = `Workers: ${state}`;
  if (state === 'degraded') {
    label += ` (${up} of ${workers.length} up)`;
  }
  return { state, label, details: workers.map(describeWorker) };
}

/** What a failed request means: 404 is a server without worker status. */
export function healthOfError(status: number, message: string): IHealth {
  if (status === 404) {
    return {
      state: 'unavailable',
      label: 'Workers: not available',
      details: ['This server does not report worker status.']
    };
  }
  return {
    state: 'unknown',
    label: 'Workers: unknown',
    details: [`The worker status could not be read: ${message}`]
  };
}

/** "build-1 (eu-west): up · v1.4.2 · 38 ms · up 3 h". */
export function describeWorker(worker: IWorker): string {
  const name = worker.name || worker.id;
  const where = worker.region ? ` (${worker.region})` : '';
  const status =
    worker.status === 'up' || worker.status === 'degraded'
      ? worker.status
      : 'down';
  const parts = [`${name}${where}: ${status}`];
  if (worker.version) {
    parts.push(`v${String(worker.version).replace(/^v/, '')}`);
  }
  if (typeof worker.latency_ms === 'number') {
    parts.push(`${Math.round(worker.latency_ms)} ms`);
  }
  if (typeof worker.uptime === 'number' && status !== 'down') {
    parts.push(`up ${duration(worker.uptime)}`);
  }
  if (worker.error) {
    parts.push(worker.error);
  }
  return parts.join(' · ');
}

/** Seconds as "45 s", "12 min", "3 h", "2 d". */
export function duration(seconds: number): string {
  if (seconds < 60) {
    return `${Math.max(0, Math.round(seconds))} s`;
  }
  if (seconds < 3600) {
    return `${Math.round(seconds / 60)} min`;
  }
  if (seconds < 86400) {
    return `${Math.round(seconds / 3600)} h`;
  }
  return `${Math.round(seconds / 86400)} d`;
}
