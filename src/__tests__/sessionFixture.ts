/**
 * A session as the server lists it, for the views' tests; `over` changes fields.
 */
import { ISession } from '../format';

export const session = (over: Partial<ISession> = {}): ISession => ({
  id: 's1',
  name: 'demo',
  repo: 'project',
  base: 'main',
  base_commit: null,
  branch: 'lawless/s1',
  worktree_path: '/root/lawless-worktrees/project/demo',
  worktree_dir: 'lawless-worktrees/project/demo',
  state: 'active',
  error: null,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  ...over
});
