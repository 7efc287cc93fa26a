/**
 * Attempts (best-of-N): what `api/workspace/attempts/{id}` reports, and the pure helpers
 * the attempts view shows it with.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { untranslated } from './translation';

export interface IAttemptSession {
  position: number;
  session_id: string;
  name: string | null;
  branch: string | null;
  worktree_path: string | null;
  state: string;
  model: string | null;
  turn: {
    state: 'pending' | 'running' | 'finished' | 'interrupted' | 'error';
    stop_reason: string | null;
    error: string | null;
    turns: number;
    /** The running turn waits for the person to allow a tool call (in its chat). */
    waiting_for_approval: boolean;
  };
  diff: { files: number; insertions: number; deletions: number } | null;
  check: {
    state:
      | 'pending'
      | 'running'
      | 'done'
      | 'timed_out'
      | 'interrupted'
      | 'skipped'
      | 'error';
    exit_code: number | null;
    output: string | null;
  } | null;
  cost_usd: number;
  duration_ms: number | null;
}

export interface IAttempt {
  id: string;
  repo: string;
  base: string | null;
  prompt: string;
  check: string | null;
  state: 'creating' | 'open' | 'chosen' | 'failed';
  chosen_session: string | null;
  error: string | null;
  created_at: string;
  running: boolean;
  sessions: IAttemptSession[];
}

/** How often the view asks for the report while something runs (ms). */
export const POLL_MS = 3000;

/** The wait before the next poll, or null: nothing runs any more, stop asking. */
export function nextPoll(attempt: IAttempt | null): number | null {
  return attempt === null || attempt.running ? POLL_MS : null;
}

/** `n attempts` from the form's field: 1 (an ordinary session) to 5. */
export function attemptCount(value: string): number {
  const n = Number.parseInt(value, 10);
  return Number.isNaN(n) ? 1 : Math.min(5, Math.max(1, n));
}

export type Tone = 'good' | 'bad' | 'busy' | 'neutral';

export interface ISummary {
  /** e.g. "Running…", "Finished (2 turns)", "Stopped: error". */
  turn: string;
  /** e.g. "+12 −3 in 2 files", "No changes", "—" before the first turn ends. */
  diff: string;
  /** e.g. "Check passed", "Check failed (exit 3)", "Check timed out", null: no check. */
  check: string | null;
  checkTone: Tone;
  /** e.g. "$0.0123 · 4.2 s". */
  cost: string;
  /** Whether *Keep this one* makes sense for it. */
  keepable: boolean;
}

export function money(usd: number): string {
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}

export function seconds(ms: number | null): string {
  if (ms === null) {
    return '';
  }
  return ms < 60000
    ? `${(ms / 1000).toFixed(1)} s`
    : `${Math.round(ms / 60000)} min`;
}

function turnLabel(s: IAttemptSession, trans: TranslationBundle): string {
  const { turn } = s;
  const count = trans._n('%1 turn', '%1 turns', turn.turns);
  switch (turn.state) {
    case 'pending':
      return trans.__('Starting…');
    case 'running':
      return turn.waiting_for_approval
        ? trans.__('Waits for your approval (open its chat)')
        : trans.__('Running…');
    case 'interrupted':
      return trans.__('Interrupted (the server restarted)');
    case 'error':
      return trans.__('Could not start: %1', turn.error ?? 'error');
    default:
      return turn.stop_reason && turn.stop_reason !== 'end_turn'
        ? trans.__('Stopped: %1 (%2)', turn.stop_reason, count)
        : trans.__('Finished (%1)', count);
  }
}

function checkLabel(
  s: IAttemptSession,
  trans: TranslationBundle
): [string | null, Tone] {
  const check = s.check;
  if (check === null) {
    return [null, 'neutral'];
  }
  switch (check.state) {
    case 'pending':
      return [trans.__('Check waits for the turn'), 'busy'];
    case 'running':
      return [trans.__('Check running…'), 'busy'];
    case 'timed_out':
      return [trans.__('Check timed out'), 'bad'];
    case 'interrupted':
      return [trans.__('Check interrupted'), 'neutral'];
    case 'skipped':
      return [trans.__('Check skipped (session gone)'), 'neutral'];
    case 'error':
      return [trans.__('Check could not run'), 'bad'];
    default:
      return check.exit_code === 0
        ? [trans.__('Check passed'), 'good']
        : [trans.__('Check failed (exit %1)', check.exit_code), 'bad'];
  }
}

export function summarise(
  s: IAttemptSession,
  trans: TranslationBundle = untranslated
): ISummary {
  const [check, checkTone] = checkLabel(s, trans);
  const diff =
    s.diff === null
      ? '—'
      : s.diff.files === 0
        ? trans.__('No changes')
        : trans._n(
            '+%2 −%3 in %1 file',
            '+%2 −%3 in %1 files',
            s.diff.files,
            s.diff.insertions,
            s.diff.deletions
          );
  const time = seconds(s.duration_ms);
  return {
    turn: turnLabel(s, trans),
    diff,
    check,
    checkTone,
    cost: time ? `${money(s.cost_usd)} · ${time}` : money(s.cost_usd),
    keepable:
      s.state === 'active' &&
      s.turn.state !== 'running' &&
      s.turn.state !== 'pending'
  };
}

/** The attempt's total cost so far. */
export function totalCost(attempt: IAttempt): number {
  return attempt.sessions.reduce((sum, s) => sum + s.cost_usd, 0);
}
