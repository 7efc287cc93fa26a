/**
 * What Claude may do without asking: the person's `permission_mode` preference, kept by
 * the server, so it holds for every session and follows them to another server.
 */
import React, { useEffect, useState } from 'react';

import { TranslationBundle } from '@jupyterlab/translation';

import { api, IPreferences } from './api';
import { untranslated, useTrans } from './translation';

/** The modes, each with how the picker says it. */
export const permissionModes = (
  trans: TranslationBundle = untranslated
): { mode: string; label: string }[] => [
  { mode: 'default', label: trans.__('Edits allowed, commands ask') },
  { mode: 'ask', label: trans.__('Ask before edits and commands') },
  { mode: 'read_only', label: trans.__('Read only') },
  { mode: 'trusted', label: trans.__('Everything in the worktree') }
];

export const PERMISSION_MODES = permissionModes();

/** The mode in effect: the saved one, or the server's default ('default'). */
export function currentMode(preferences: IPreferences): string {
  const mode = preferences.permission_mode;
  return PERMISSION_MODES.some(m => m.mode === mode)
    ? (mode as string)
    : 'default';
}

/** The whole document with a new mode (a PUT replaces the document: keep the rest). */
export function withMode(
  preferences: IPreferences,
  mode: string
): IPreferences {
  return { ...preferences, permission_mode: mode };
}

export function PermissionPicker(props: {
  disabled: boolean;
  onError: (message: string) => void;
}): JSX.Element {
  const [preferences, setPreferences] = useState<IPreferences | null>(null);
  const trans = useTrans();

  useEffect(() => {
    api
      .preferences()
      .then(answer => setPreferences(answer.preferences))
      .catch(() => setPreferences({})); // the server's default then
  }, []);

  const choose = async (mode: string) => {
    const before = preferences ?? {};
    setPreferences(withMode(before, mode));
    try {
      const saved = await api.savePreferences(withMode(before, mode));
      setPreferences(saved.preferences);
    } catch (error) {
      setPreferences(before);
      props.onError(error instanceof Error ? error.message : String(error));
    }
  };

  return (
    <select
      className="jp-mod-styled jp-lawless-permission"
      aria-label={trans.__('What Claude may do without asking')}
      title={trans.__(
        'What Claude may do without asking (for all your sessions)'
      )}
      value={currentMode(preferences ?? {})}
      disabled={props.disabled || preferences === null}
      onChange={e => void choose(e.target.value)}
    >
      {permissionModes(trans).map(m => (
        <option key={m.mode} value={m.mode}>
          {m.label}
        </option>
      ))}
    </select>
  );
}
