/**
 * The attempts view (main area): the sessions of one attempt side by side, with their
 * live status, diff stats, check result and cost; open one, see its diff, keep one.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useState } from 'react';

import { api } from '../api';
import {
  IAttempt,
  IAttemptSession,
  money,
  nextPoll,
  summarise,
  totalCost
} from '../attempts';
import { message, PanelController } from '../context';
import { TranslationContext, useTrans } from '../translation';
import { Alerts } from './Alerts';

export class AttemptsWidget extends ReactWidget {
  constructor(
    readonly attemptId: string,
    private readonly controller: PanelController,
    private readonly reveal: () => void,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-lawless-attempts');
  }

  render(): JSX.Element {
    return (
      <TranslationContext.Provider value={this.trans}>
        <AttemptsView
          attemptId={this.attemptId}
          open={(id, tab) => {
            this.controller.openSession(id, tab);
            this.reveal();
          }}
          onSessionsChanged={() => this.controller.emit('sessionsChanged')}
        />
      </TranslationContext.Provider>
    );
  }
}

export function AttemptsView(props: {
  attemptId: string;
  open: (sessionId: string, tab: 'chat' | 'changes') => void;
  onSessionsChanged?: () => void;
}): JSX.Element {
  const [attempt, setAttempt] = useState<IAttempt | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [followUp, setFollowUp] = useState('');
  const [busy, setBusy] = useState(false);
  const trans = useTrans();

  const load = useCallback(async () => {
    try {
      const { attempt } = await api.getAttempt(props.attemptId);
      setAttempt(attempt);
      setError(null);
      return attempt;
    } catch (e) {
      setError(message(e));
      return null;
    }
  }, [props.attemptId]);

  // poll while any turn or check runs; stop once all are over
  useEffect(() => {
    let timer: number | undefined;
    let stopped = false;
    const tick = async () => {
      const latest = await load();
      const wait = nextPoll(latest);
      if (!stopped && wait !== null) {
        timer = window.setTimeout(() => void tick(), wait);
      }
    };
    void tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [load, attempt?.running === true]);

  const sendFollowUp = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { attempt } = await api.followUpAttempt(props.attemptId, followUp);
      setAttempt(attempt);
      setFollowUp('');
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const keep = async (session: IAttemptSession) => {
    if (!attempt) {
      return;
    }
    const others = attempt.sessions.filter(
      s => s.session_id !== session.session_id && s.state === 'active'
    );
    const dropBranches = trans.__('Keep, drop their branches');
    const answer = await showDialog({
      title: trans.__('Keep “%1”?', session.name ?? ''),
      body: (
        <div className="jp-lawless-dialog">
          <p>
            {trans._n(
              'The other session of this attempt is deleted: its worktree goes, its branch stays.',
              'The other %1 sessions of this attempt are deleted: their worktrees go, their branches stay.',
              others.length
            )}
          </p>
          <ul className="jp-lawless-filelist">
            {others.map(s => (
              <li key={s.session_id}>
                <code>{s.branch}</code>
              </li>
            ))}
          </ul>
          <p>
            {trans.__(
              'Uncommitted changes in them are lost. Their branches are kept unless you drop them too (a branch with commits that are not on the base is kept even then).'
            )}
          </p>
        </div>
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: dropBranches }),
        Dialog.warnButton({ label: trans.__('Keep this one') })
      ]
    });
    if (!answer.button.accept) {
      return;
    }
    const drop = answer.button.label === dropBranches;
    setError(null);
    try {
      const result = await api.chooseAttempt(attempt.id, session.session_id, {
        force: true,
        drop_branches: drop
      });
      setAttempt(result.attempt);
      props.onSessionsChanged?.();
      const dropped = result.deleted.filter(d => d.branch_deleted).length;
      const deleted = result.deleted.length;
      setNotice(
        drop
          ? trans._n(
              'Kept “%2”; %1 other session deleted, %3 of their branches deleted.',
              'Kept “%2”; %1 other sessions deleted, %3 of their branches deleted.',
              deleted,
              session.name ?? '',
              dropped
            )
          : trans._n(
              'Kept “%2”; %1 other session deleted, their branches kept.',
              'Kept “%2”; %1 other sessions deleted, their branches kept.',
              deleted,
              session.name ?? ''
            )
      );
    } catch (e) {
      setError(message(e));
    }
  };

  if (!attempt) {
    return (
      <div className="jp-lawless-attempts-root">
        <Alerts error={error} />
        {!error && (
          <div className="jp-lawless-muted">{trans.__('Loading…')}</div>
        )}
      </div>
    );
  }
  const open = attempt.state === 'open';
  return (
    <div className="jp-lawless-attempts-root">
      <header className="jp-lawless-attempts-head">
        <h2>
          {trans.__('Attempts: %1', attempt.prompt.split('\n')[0].slice(0, 80))}
        </h2>
        <div className="jp-lawless-item-meta">
          {[
            attempt.repo || trans.__('(root)'),
            trans._n('%1 attempt', '%1 attempts', attempt.sessions.length),
            attempt.state,
            ...(attempt.running ? [trans.__('running')] : []),
            money(totalCost(attempt))
          ].join(' · ')}
          {attempt.check ? (
            <>
              {' · '}
              {trans.__('check')} <code>{attempt.check}</code>
            </>
          ) : null}
        </div>
      </header>
      <Alerts error={error ?? attempt.error} notice={notice} />
      <div className="jp-lawless-attempts-grid" role="list">
        {attempt.sessions.map(s => (
          <AttemptCard
            key={s.session_id}
            session={s}
            chosen={attempt.chosen_session === s.session_id}
            canKeep={open}
            onOpen={() => props.open(s.session_id, 'chat')}
            onDiff={() => props.open(s.session_id, 'changes')}
            onKeep={() => void keep(s)}
          />
        ))}
      </div>
      {open && (
        <form
          className="jp-lawless-attempts-followup"
          onSubmit={sendFollowUp}
          aria-label={trans.__('Send a follow-up to every attempt')}
        >
          <input
            className="jp-mod-styled"
            value={followUp}
            placeholder={trans.__('A follow-up for every attempt')}
            onChange={e => setFollowUp(e.target.value)}
            aria-label={trans.__('Follow-up message')}
          />
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept jp-lawless-button"
            disabled={busy || attempt.running || !followUp.trim()}
          >
            {trans.__('Send to all')}
          </button>
        </form>
      )}
    </div>
  );
}

function AttemptCard(props: {
  session: IAttemptSession;
  chosen: boolean;
  canKeep: boolean;
  onOpen: () => void;
  onDiff: () => void;
  onKeep: () => void;
}): JSX.Element {
  const s = props.session;
  const trans = useTrans();
  const summary = summarise(s, trans);
  const live = s.state !== 'deleted' && s.state !== 'failed';
  return (
    <section
      role="listitem"
      className={`jp-lawless-attempt${props.chosen ? ' jp-mod-chosen' : ''}`}
      aria-label={trans.__('Attempt %1: %2', s.position, s.name ?? '')}
    >
      <h3>
        {`#${s.position} ${s.name ?? ''}`}
        <span className={`jp-lawless-state jp-lawless-state-${s.state}`}>
          {props.chosen ? trans.__('kept') : s.state}
        </span>
      </h3>
      <div className="jp-lawless-item-meta">
        <code>{s.branch}</code>
        {s.model ? ` · ${s.model}` : ''}
      </div>
      <dl className="jp-lawless-attempt-facts">
        <dt>{trans.__('Turn')}</dt>
        <dd>{summary.turn}</dd>
        <dt>{trans.__('Changes')}</dt>
        <dd>{summary.diff}</dd>
        {summary.check !== null && (
          <>
            <dt>{trans.__('Check')}</dt>
            <dd className={`jp-lawless-tone-${summary.checkTone}`}>
              {summary.check}
            </dd>
          </>
        )}
        <dt>{trans.__('Cost')}</dt>
        <dd>{summary.cost}</dd>
      </dl>
      {s.check?.output ? (
        <pre
          className="jp-lawless-attempt-output"
          aria-label={trans.__('Check output')}
        >
          {s.check.output.slice(-2000)}
        </pre>
      ) : null}
      <div className="jp-lawless-attempt-actions">
        <button
          className="jp-mod-styled jp-lawless-button"
          disabled={!live}
          onClick={props.onOpen}
        >
          {trans.__('Open chat')}
        </button>
        <button
          className="jp-mod-styled jp-lawless-button"
          disabled={!live}
          onClick={props.onDiff}
        >
          {trans.__('Diff')}
        </button>
        {props.canKeep && (
          <button
            className="jp-mod-styled jp-mod-accept jp-lawless-button"
            disabled={!summary.keepable}
            onClick={props.onKeep}
          >
            {trans.__('Keep this one')}
          </button>
        )}
      </div>
    </section>
  );
}
