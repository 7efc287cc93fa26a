import {
  appendRepos,
  deploymentState,
  describeProvider,
  deviceOutcome,
  IDevicePoll,
  IProviderStatus,
  IRepo,
  pollDeviceFlow
} from '../connectionsState';

const github = (over: Partial<IProviderStatus> = {}): IProviderStatus => ({
  provider: 'github',
  connected: true,
  source: 'oauth',
  account: 'octocat',
  scopes: 'repo',
  expires_at: null,
  connected_at: null,
  ...over
});

describe('connections', () => {
  it('says who a provider is connected as, and where the token came from', () => {
    expect(describeProvider(github())).toBe('Connected as octocat');
    expect(describeProvider(github({ source: 'hub' }))).toBe(
      'Connected as octocat (token from JupyterHub)'
    );
    expect(describeProvider(github({ connected: false }))).toBe(
      'Not connected'
    );
    expect(describeProvider(null)).toBe('Not connected');
  });

  it('polls the device flow at the interval GitHub asks for', async () => {
    const answers: IDevicePoll[] = [
      { status: 'pending', interval: 5 },
      { status: 'pending', interval: 10 }, // slow_down
      { status: 'connected', interval: 10, account: 'octocat' }
    ];
    const waits: number[] = [];
    const pending: number[] = [];
    const result = await pollDeviceFlow(
      {
        device_id: 'd1',
        user_code: 'ABCD-1234',
        verification_uri: 'https://github.com/login/device',
        interval: 5,
        expires_in: 900
      },
      async id => {
        expect(id).toBe('d1');
        return answers.shift()!;
      },
      {
        sleep: async ms => {
          waits.push(ms);
        },
        onPending: interval => pending.push(interval)
      }
    );
    expect(result?.status).toBe('connected');
    expect(waits).toEqual([5000, 5000, 10000]);
    expect(pending).toEqual([5, 10]);
    expect(deviceOutcome(result!)).toBe('Connected to GitHub as octocat.');
  });

  it('stops polling when aborted or when the code expired', async () => {
    const controller = new AbortController();
    let polls = 0;
    const start = {
      device_id: 'd',
      user_code: 'X',
      verification_uri: 'u',
      interval: 1,
      expires_in: 1
    };
    const aborted = await pollDeviceFlow(
      start,
      async () => {
        polls += 1;
        controller.abort();
        return { status: 'pending', interval: 1 };
      },
      { sleep: async () => undefined, signal: controller.signal }
    );
    expect(aborted).toBeNull();
    expect(polls).toBe(1);
    const expired = await pollDeviceFlow(
      start,
      async () => ({ status: 'expired', interval: 1 }),
      { sleep: async () => undefined }
    );
    expect(deviceOutcome(expired!)).toMatch(/expired/);
  });

  it('names deployment states', () => {
    expect(deploymentState('READY')).toEqual({ label: 'ready', tone: 'ok' });
    expect(deploymentState('ERROR').tone).toBe('bad');
    expect(deploymentState('BUILDING')).toEqual({
      label: 'building',
      tone: 'busy'
    });
    expect(deploymentState(null).label).toBe('unknown');
  });

  it('appends pages of repositories without duplicates', () => {
    const repo = (name: string): IRepo => ({
      full_name: `o/${name}`,
      name,
      owner: 'o',
      private: false,
      description: null,
      default_branch: 'main',
      clone_url: '',
      html_url: '',
      updated_at: null
    });
    expect(
      appendRepos([repo('a'), repo('b')], [repo('b'), repo('c')]).map(
        r => r.name
      )
    ).toEqual(['a', 'b', 'c']);
  });
});
