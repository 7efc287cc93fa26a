import { Dialog, showDialog } from '@jupyterlab/apputils';
import { useCallback, useEffect, useMemo, useState } from 'react';

import { api } from '../api';
import { message } from '../context';
import { ISession } from '../format';
import { useTrans } from '../translation';
import { ITurn, rewindQuestion, turnsById } from '../turns';
import { ITurnActions } from '../components/ChatItem';

/**
 * A session's turns (the checkpoints behind its user messages), read again after each
 * turn, and what a person can do with one: rewind to before it (asked first) or fork a
 * new session from it.
 */
export function useTurns(
  session: ISession,
  busy: boolean,
  handlers: {
    onRewound: () => void;
    onForked: (session: ISession) => void;
    onError: (text: string) => void;
  }
): { byId: Map<string, ITurn>; actions: ITurnActions } {
  const trans = useTrans();
  const [turns, setTurns] = useState<ITurn[]>([]);
  const [acting, setActing] = useState(false);

  useEffect(() => {
    if (busy) {
      return;
    }
    let current = true;
    api
      .turns(session.id)
      .then(body => current && setTurns(body.turns))
      .catch(() => undefined); // the menus wait for the next read
    return () => {
      current = false;
    };
  }, [session.id, busy]);
  const byId = useMemo(() => turnsById(turns), [turns]);

  const rewind = useCallback(
    async (turn: ITurn) => {
      const answer = await showDialog({
        title: trans.__('Rewind to before turn %1?', turn.number),
        body: rewindQuestion(turn, trans),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.warnButton({ label: trans.__('Rewind') })
        ]
      });
      if (!answer.button.accept) {
        return;
      }
      setActing(true);
      try {
        await api.rewind(session.id, turn.id);
        handlers.onRewound();
      } catch (error) {
        handlers.onError(message(error));
      } finally {
        setActing(false);
      }
    },
    [session.id]
  );

  const fork = useCallback(
    async (turn: ITurn) => {
      setActing(true);
      try {
        const { session: forked } = await api.fork(session.id, {
          turn: turn.id
        });
        handlers.onForked(forked);
      } catch (error) {
        handlers.onError(message(error));
        setActing(false);
      }
    },
    [session.id]
  );

  const actions: ITurnActions = useMemo(
    () => ({
      rewind: turn => void rewind(turn),
      fork: turn => void fork(turn),
      disabled: busy || acting
    }),
    [rewind, fork, busy, acting]
  );
  return { byId, actions };
}
