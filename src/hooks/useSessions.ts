/**
 * The person's sessions, which one is open and on which tab: restored from JupyterLab's
 * state database after a reload and saved there on every change.
 */
import { useCallback, useEffect, useState } from 'react';

import { api } from '../api';
import { IPanelContext, message, STATE_KEY, Tab } from '../context';
import { ISession } from '../format';

export interface ISessions {
  /** The list, null until it has loaded. */
  sessions: ISession[] | null;
  /** Why the list could not be loaded. */
  listError: string | null;
  /** The open session, if any. */
  open: ISession | null;
  tab: Tab;
  setTab: (tab: Tab) => void;
  setOpenId: (id: string | null) => void;
  refresh: () => Promise<ISession[] | null>;
}

const TABS: Tab[] = ['chat', 'changes', 'terminal', 'connections'];

/**
 * What to open after a reload: the session the state database kept, on its tab, if it
 * still exists (else the list); a tab this version does not know opens the chat.
 */
export function restoredView(
  saved: { session?: unknown; tab?: unknown } | null,
  list: ISession[] | null
): { session: string; tab: Tab } | null {
  const id = saved?.session;
  if (typeof id !== 'string' || !list?.some(s => s.id === id)) {
    return null;
  }
  const tab = TABS.find(t => t === saved?.tab) ?? 'chat';
  return { session: id, tab };
}

export function useSessions(ctx: IPanelContext): ISessions {
  const [sessions, setSessions] = useState<ISession[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [openId, setOpenId] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>('chat');
  const [restored, setRestored] = useState(false);

  const refresh = useCallback(async () => {
    try {
      const { sessions } = await api.listSessions();
      setSessions(sessions);
      setListError(null);
      ctx.controller.sessions = sessions;
      ctx.controller.emit('sessions');
      return sessions;
    } catch (error) {
      setListError(message(error));
      return null;
    }
  }, []);

  useEffect(() => {
    void (async () => {
      const saved = (await ctx.state?.fetch(STATE_KEY).catch(() => null)) as {
        session?: string;
        tab?: Tab;
      } | null;
      const view = restoredView(saved, await refresh());
      if (view) {
        setOpenId(view.session);
        setTab(view.tab);
      }
      setRestored(true);
    })();
  }, []);

  useEffect(() => {
    if (restored) {
      void ctx.state
        ?.save(STATE_KEY, { session: openId, tab } as any)
        .catch(() => undefined);
    }
  }, [openId, tab, restored]);

  useEffect(
    () =>
      ctx.controller.on('newSession', () => {
        setOpenId(null);
        window.setTimeout(
          () => document.getElementById('jp-lawless-repo')?.focus(),
          0
        );
      }),
    []
  );

  useEffect(
    () => ctx.controller.on('openChanges', () => setTab('changes')),
    []
  );

  useEffect(
    () =>
      ctx.controller.on('openSession', () => {
        const request = ctx.controller.openRequest;
        if (request) {
          void refresh(); // an attempt's session may be new to the list
          setOpenId(request.id);
          setTab(request.tab);
        }
      }),
    []
  );

  useEffect(
    () =>
      ctx.controller.on('sessionsChanged', () => {
        void refresh(); // an open session that was deleted elsewhere closes
      }),
    []
  );

  useEffect(() => ctx.controller.on('refresh', () => void refresh()), []);

  const open = sessions?.find(s => s.id === openId) ?? null;

  useEffect(() => {
    ctx.controller.sessionOpen = open !== null;
    ctx.controller.emit('sessionOpen');
  }, [open !== null]);
  return { sessions, listError, open, tab, setTab, setOpenId, refresh };
}
