import { emptyChat, setToolResult, toolItem } from '../chat';
import { applyEvents } from '../events';
import { jupyterTool, resultImages } from '../notebookTools';
import { alwaysAllowTitle, commandText, ruleLabel } from '../rules';

describe('notebook tool cards', () => {
  it('show the code Claude runs, whole, and its first line as the summary', () => {
    const card = jupyterTool('mcp__jupyter__execute', {
      code: '\nimport os\nprint(os.getcwd())'
    });
    expect(card).toEqual({
      label: 'Run code',
      summary: 'import os …',
      code: '\nimport os\nprint(os.getcwd())'
    });
  });

  it('name the notebook and the cell', () => {
    expect(
      jupyterTool('mcp__jupyter__run_cell', { path: 'a.ipynb', index: 2 })
    ).toEqual({ label: 'Run cell', summary: 'a.ipynb · cell 2', code: null });
    expect(
      jupyterTool('mcp__jupyter__edit_cell', {
        path: 'a.ipynb',
        cell_id: 'x1',
        source: '1 + 1'
      })
    ).toEqual({
      label: 'Edit cell',
      summary: 'a.ipynb · cell x1',
      code: '1 + 1'
    });
    expect(
      jupyterTool('mcp__jupyter__insert_cell', {
        path: 'a.ipynb',
        index: 0,
        source: '# T',
        cell_type: 'markdown'
      })?.summary
    ).toBe('a.ipynb · new markdown cell at 0');
    expect(
      jupyterTool('mcp__jupyter__move_cell', {
        path: 'a.ipynb',
        from: 3,
        to: 0
      })?.summary
    ).toBe('a.ipynb · cell 3 → 0');
    expect(jupyterTool('Bash', { command: 'ls' })).toBeNull();
  });

  it('ask for code with the code shown and a rule a person can read', () => {
    expect(commandText('mcp__jupyter__execute', { code: 'x = 1' })).toBe(
      'x = 1'
    );
    expect(ruleLabel('mcp__jupyter__execute')).toContain(
      "this session's Jupyter kernel"
    );
    expect(alwaysAllowTitle('mcp__jupyter__execute')).toContain('kernel');
  });

  it('keep only PNG and JPEG images of a result, as base64', () => {
    const items = [
      toolItem('k', 't', { id: 'u1', name: 'mcp__jupyter__execute' })
    ];
    setToolResult(items, 'u1', 'done', false, [
      { media_type: 'image/png', data: 'iVBORw0KGgo=' },
      { media_type: 'image/svg+xml', data: 'PHN2Zz4=' },
      { media_type: 'image/png', data: '"><script>' }
    ]);
    const card = items[0];
    expect(card.kind === 'tool' && card.images).toEqual([
      { mediaType: 'image/png', data: 'iVBORw0KGgo=' }
    ]);
    expect(resultImages(undefined)).toEqual([]);
  });

  it('show the cell a run_cell approval would run', () => {
    const state = applyEvents(emptyChat(), [
      { data: { type: 'start', turn_id: 't' }, id: '1-1' },
      {
        data: {
          type: 'approval_request',
          request_id: 'r1',
          tool: 'mcp__jupyter__run_cell',
          input: { path: 'a.ipynb', index: 1 },
          code: 'print(42)',
          rule: 'mcp__jupyter__execute'
        },
        id: '1-2'
      }
    ]);
    const approval = state.items[0];
    expect(approval.kind === 'approval' && approval.code).toBe('print(42)');
  });
});
