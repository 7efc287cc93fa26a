/**
 * Worker health for the status bar: `GET {base}lawless/api/workers/status` mapped to one
 * state a person reads at a glance, and a line per worker for the details.
 * Plain TypeScript, unit-tested.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { untranslated } from './translation';

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
export function healthOf(
  body: IWorkersStatus,
  trans: TranslationBundle = untranslated
): IHealth {
  const workers = Array.isArray(body?.workers) ? body.workers : [];
  if (workers.length === 0) {
    return {
      state: 'down',
      label: trans.__('Workers: none'),
      details: [trans.__('No worker is registered with this server.')]
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
  const label =
    state === 'up'
      ? trans.__('Workers: up')
      : state === 'down'
        ? trans.__('Workers: down')
        : trans.__('Workers: degraded (%1 of %2 up)', up, workers.length);
  return {
    state,
    label,
    details: workers.map(w => describeWorker(w, trans))
  };
}

/** What a failed request means: 404 is a server without worker status. */
export function healthOfError(
  status: number,
  message: string,
  trans: TranslationBundle = untranslated
): IHealth {
  if (status === 404) {
    return {
      state: 'unavailable',
      label: trans.__('Workers: not available'),
      details: [trans.__('This server does not report worker status.')]
    };
  }
  return {
    state: 'unknown',
    label: trans.__('Workers: unknown'),
    details: [trans.__('The worker status could not be read: %1', message)]
  };
}

/** "build-1 (eu-west): up · v1.4.2 · 38 ms · up 3 h". */
export function describeWorker(
  worker: IWorker,
  trans: TranslationBundle = untranslated
): string {
  const name = worker.name || worker.id;
  const where = worker.region ? ` (${worker.region})` : '';
  const status =
    worker.status === 'up' || worker.status === 'degraded'
      ? worker.status
      : 'down';
  const shown =
    status === 'up'
      ? trans.__('up')
      : status === 'degraded'
        ? trans.__('degraded')
        : trans.__('down');
  const parts = [`${name}${where}: ${shown}`];
  if (worker.version) {
    parts.push(`v${String(worker.version).replace(/^v/, '')}`);
  }
  if (typeof worker.latency_ms === 'number') {
    parts.push(`${Math.round(worker.latency_ms)} ms`);
  }
  if (typeof worker.uptime === 'number' && status !== 'down') {
    parts.push(trans.__('up %1', duration(worker.uptime)));
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
