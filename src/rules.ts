/**
 * "Always allow" rules as the server keeps them (`lawless_jupyter/chat/rules.py`): a shell
 * command's program and subcommand (`Bash(git status:*)`), an exact command
 * (`Bash(python x.py)`), a tool's name (`Edit`), or `mcp__jupyter__execute`: any code in the
 * session's kernel. Plain functions, tested with jest.
 */
import { KERNEL_RULE } from './notebookTools';

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
export function ruleLabel(rule: string): string {
  if (rule === KERNEL_RULE) {
    return "any code in this session's Jupyter kernel (run code, run cell)";
  }
  const match = /^Bash\((.*)\)$/s.exec(rule);
  if (!match) {
    return `every ${rule}`;
  }
  const inner = match[1];
  return inner.endsWith(':*')
    ? `commands starting with “${inner.slice(0, -2)}”`
    : `exactly “${inner}”`;
}

/** What the "Always allow" button says it will remember (null: no such button). */
export function alwaysAllowTitle(
  rule: string | null | undefined
): string | null {
  return rule
    ? `Allow ${ruleLabel(rule)} for the rest of this conversation`
    : null;
}

/** Why a request offers no "Always allow" (it asks every time), or null. */
export function whyAskedEveryTime(
  tool: string,
  rule: string | null | undefined
): string | null {
  if (rule) {
    return null;
  }
  return tool === 'Bash'
    ? 'A command with more than one step (&&, |, ;, $(…), redirections) is asked every time.'
    : 'A file that names commands to run later is asked every time.';
}

/** The Changes tab's warning before Commit or Merge (`hooks_changed` of `git/status`). */
export function hooksWarning(hooks: string[] | undefined): string | null {
  if (!hooks || hooks.length === 0) {
    return null;
  }
  const named = hooks.join(', ');
  return `Changed in this session and run by git on commit or merge: ${named}. Read them before you click.`;
}
