/**
 * The Connections section's logic, without React or JupyterLab imports so it is testable:
 * the API shapes, what a provider's status says in words, the device flow's polling loop,
 * and deployment states.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import { untranslated } from './translation';

export interface IProviderStatus {
  provider: 'github' | 'vercel';
  connected: boolean;
  source: 'oauth' | 'hub' | 'token' | null;
  account: string | null;
  scopes: string | null;
  expires_at: number | null;
  connected_at: string | null;
}

export interface IAuthStatus {
  providers: IProviderStatus[];
  github: { oauth_configured: boolean; web_url: string };
}

export interface IDeviceStart {
  device_id: string;
  user_code: string;
  verification_uri: string;
  interval: number;
  expires_in: number;
}

export interface IDevicePoll {
  status: 'pending' | 'connected' | 'expired' | 'denied';
  interval: number;
  account?: string;
}

export interface IRepo {
  full_name: string;
  name: string;
  owner: string;
  private: boolean;
  description: string | null;
  default_branch: string | null;
  clone_url: string;
  html_url: string;
  updated_at: string | null;
}

export interface IDeployment {
  id: string;
  name: string;
  url: string | null;
  state: string | null;
  target: string | null;
  created_at: number | null;
}

export function providerOf(
  status: IAuthStatus | null,
  provider: 'github' | 'vercel'
): IProviderStatus | null {
  return status?.providers.find(p => p.provider === provider) ?? null;
}

/** "Connected as octocat", "Connected as octocat (token from JupyterHub)", "Not connected". */
export function describeProvider(
  entry: IProviderStatus | null,
  trans: TranslationBundle = untranslated
): string {
  if (!entry || !entry.connected) {
    return trans.__('Not connected');
  }
  const hub = entry.source === 'hub';
  if (entry.account) {
    return hub
      ? trans.__('Connected as %1 (token from JupyterHub)', entry.account)
      : trans.__('Connected as %1', entry.account);
  }
  return hub
    ? trans.__('Connected (token from JupyterHub)')
    : trans.__('Connected');
}

/** Vercel's readyState -> a short word and whether it is good, bad or in progress. */
export function deploymentState(
  state: string | null,
  trans: TranslationBundle = untranslated
): {
  label: string;
  tone: 'ok' | 'bad' | 'busy' | 'unknown';
} {
  switch ((state ?? '').toUpperCase()) {
    case 'READY':
      return { label: trans.__('ready'), tone: 'ok' };
    case 'ERROR':
      return { label: trans.__('failed'), tone: 'bad' };
    case 'CANCELED':
      return { label: trans.__('canceled'), tone: 'bad' };
    case 'BUILDING':
    case 'INITIALIZING':
    case 'QUEUED':
      return { label: state!.toLowerCase(), tone: 'busy' };
    default:
      return {
        label: state ? state.toLowerCase() : trans.__('unknown'),
        tone: 'unknown'
      };
  }
}

/**
 * Poll the device flow until it ends: waits `interval` seconds (as GitHub last asked, a
 * `slow_down` raising it) before each poll; stops on `connected`, `expired`, `denied`, an
 * error thrown by `poll`, or when `signal` is aborted (then it resolves to null).
 */
export async function pollDeviceFlow(
  start: IDeviceStart,
  poll: (deviceId: string) => Promise<IDevicePoll>,
  options: {
    sleep?: (ms: number) => Promise<void>;
    signal?: AbortSignal;
    onPending?: (interval: number) => void;
  } = {}
): Promise<IDevicePoll | null> {
  const sleep =
    options.sleep ??
    ((ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms)));
  let interval = start.interval;
  for (;;) {
    await sleep(Math.max(interval, 1) * 1000);
    if (options.signal?.aborted) {
      return null;
    }
    const answer = await poll(start.device_id);
    if (answer.status !== 'pending') {
      return answer;
    }
    interval = answer.interval;
    options.onPending?.(interval);
  }
}

/** The message shown once the device flow ended. */
export function deviceOutcome(
  answer: IDevicePoll,
  trans: TranslationBundle = untranslated
): string {
  switch (answer.status) {
    case 'connected':
      return trans.__('Connected to GitHub as %1.', answer.account ?? '');
    case 'expired':
      return trans.__('The code expired before it was entered. Start again.');
    case 'denied':
      return trans.__('The request was declined at GitHub.');
    default:
      return trans.__('Still waiting for the code to be entered.');
  }
}

/** Append a page of repositories, skipping any already listed (pages can shift). */
export function appendRepos(list: IRepo[], page: IRepo[]): IRepo[] {
  const seen = new Set(list.map(r => r.full_name));
  return [...list, ...page.filter(r => !seen.has(r.full_name))];
}
