/**
 * The connections' part of the REST API (GitHub, Vercel, the Supabase mirror's state) for
 * the Connections tab (components/ConnectionsView.tsx and its sections) and the Push / Open
 * pull request buttons of a session's Changes tab (components/GitHubActions.tsx).
 */
import { ServerConnection } from '@jupyterlab/services';

import { newIdempotencyKey, request } from './api';
import {
  IAuthStatus,
  IDeployment,
  IDevicePoll,
  IDeviceStart,
  IRepo
} from './connectionsState';

const sessionPath = (id: string, rest: string): string =>
  `api/workspace/sessions/${encodeURIComponent(id)}${rest}`;

export const connectionsApi = {
  status: (): Promise<IAuthStatus> =>
    request('api/auth/status', { what: t => t.__('the connections') }),
  disconnect: (provider: 'github' | 'vercel'): Promise<any> =>
    request(`api/auth/${provider}`, { method: 'DELETE', what: provider }),
  startDevice: (): Promise<IDeviceStart> =>
    request('api/auth/github/device', { method: 'POST', what: 'GitHub' }),
  pollDevice: (deviceId: string): Promise<IDevicePoll> =>
    request('api/auth/github/device/poll', {
      method: 'POST',
      body: { device_id: deviceId },
      what: 'GitHub'
    }),
  repos: (
    page: number
  ): Promise<{ repos: IRepo[]; next_page: number | null }> =>
    request(`api/integrations/github/repos?page=${page}&per_page=50`, {
      what: 'GitHub'
    }),
  clone: (fullName: string): Promise<{ repo: string }> =>
    request('api/integrations/github/clone', {
      method: 'POST',
      body: { full_name: fullName },
      what: 'GitHub',
      idempotencyKey: newIdempotencyKey()
    }),
  push: (
    id: string
  ): Promise<{ push: { branch: string; full_name: string } }> =>
    request(sessionPath(id, '/git/push'), {
      method: 'POST',
      what: t => t.__('the session'),
      idempotencyKey: newIdempotencyKey()
    }),
  pullRequest: (
    id: string,
    title: string,
    body: string
  ): Promise<{ pull_request: { url: string; number: number } }> =>
    request(sessionPath(id, '/git/pull-request'), {
      method: 'POST',
      body: { title, body },
      what: t => t.__('the session'),
      idempotencyKey: newIdempotencyKey()
    }),
  connectVercel: (token: string): Promise<{ account: string }> =>
    request('api/integrations/vercel', {
      method: 'PUT',
      body: { token },
      what: 'Vercel'
    }),
  vercelProjects: (): Promise<{ projects: any[] }> =>
    request('api/integrations/vercel/projects', { what: 'Vercel' }),
  vercelDeployments: (): Promise<{ deployments: IDeployment[] }> =>
    request('api/integrations/vercel/deployments', { what: 'Vercel' }),
  supabase: (): Promise<any> =>
    request('api/integrations/supabase/status', {
      what: t => t.__('the Supabase mirror')
    })
};

export const text = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** Where the web flow starts, returning to a light page of this server when done. */
export function webFlowUrl(): string {
  const base = ServerConnection.makeSettings().baseUrl;
  const path = new URL(base, window.location.href).pathname;
  const next = `${path}lawless/health`;
  return `${base}lawless/api/auth/github?next=${encodeURIComponent(next)}`;
}
