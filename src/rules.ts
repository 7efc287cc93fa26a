/**
 * "Always allow" rules as the server keeps them (`lawless_jupyter/chat/rules.py`): a shell
 * command's program and subcommand (`Bash(git status:*)`), an exact command
 * (`Bash(python x.py)`), a tool's name (`Edit`), or `mcp__jupyter__execute`: any code in the
 * session's kernel. Plain functions, tested with jest.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { KERNEL_RULE } from './notebookTools';
import { untranslated } from './translation';

/** The shell command of a `Bash` call, whole; for other tools their input as JSON. */
export function commandText(tool: string, input: Record<string, any>): string {
  if (tool === 'Bash' && typeof input?.command === 'string') {
    return input.command;
  }
  if (tool === KERNEL_RULE && typeof input?.code === 'string') {
    return input.code; // code for the session's Jupyter kernel
  }
  return JSON.stringify(input ?? {}, null, 2);
}

/** A rule as a person reads it. */
export function ruleLabel(
  rule: string,
  trans: TranslationBundle = untranslated
): string {
  if (rule === KERNEL_RULE) {
    return trans.__(
      "any code in this session's Jupyter kernel (run code, run cell)"
    );
  }
  const match = /^Bash\((.*)\)$/s.exec(rule);
  if (!match) {
    return trans.__('every %1', rule);
  }
  const inner = match[1];
  return inner.endsWith(':*')
    ? trans.__('commands starting with “%1”', inner.slice(0, -2))
    : trans.__('exactly “%1”', inner);
}

/** What the "Always allow" button says it will remember (null: no such button). */
export function alwaysAllowTitle(
  rule: string | null | undefined,
  trans: TranslationBundle = untranslated
): string | null {
  return rule
    ? trans.__(
        'Allow %1 for the rest of this conversation',
        ruleLabel(rule, trans)
      )
    : null;
}

/** Why a request offers no "Always allow" (it asks every time), or null. */
export function whyAskedEveryTime(
  tool: string,
  rule: string | null | undefined,
  trans: TranslationBundle = untranslated
): string | null {
  if (rule) {
    return null;
  }
  return tool === 'Bash'
    ? trans.__(
        'A command with more than one step (&&, |, ;, $(…), redirections) is asked every time.'
      )
    : trans.__('A file that names commands to run later is asked every time.');
}

/** The Changes tab's warning before Commit or Merge (`hooks_changed` of `git/status`). */
export function hooksWarning(
  hooks: string[] | undefined,
  trans: TranslationBundle = untranslated
): string | null {
  if (!hooks || hooks.length === 0) {
    return null;
  }
  return trans.__(
    'Changed in this session and run by git on commit or merge: %1. Read them before you click.',
    hooks.join(', ')
  );
}
