import {
  addUserMessage,
  answerApproval,
  ChatBatcher,
  describeUsage,
  emptyChat,
  fromHistory,
  IChatState,
  shortInput
} from '../chat';
import { applyEvents } from '../events';
import { IChatEvent } from '../sse';

const run = (state: IChatState, ...events: IChatEvent[]): IChatState =>
  applyEvents(
    state,
    events.map((data, i) => ({ data, id: `1-${i + 1}` }))
  );

describe('chat state', () => {
  it('builds items from history, pairing tool results with their uses', () => {
    const items = fromHistory([
      { seq: 1, turn_id: 't1', role: 'user', content: { text: 'Run it' } },
      {
        seq: 2,
        turn_id: 't1',
        role: 'tool_use',
        content: { id: 'x', name: 'Bash', input: { command: 'ls' } }
      },
      {
        seq: 3,
        turn_id: 't1',
        role: 'tool_result',
        content: { tool_use_id: 'x', content: 'a\nb', is_error: false }
      },
      { seq: 4, turn_id: 't1', role: 'assistant', content: { text: 'Done.' } },
      {
        seq: 5,
        turn_id: 't1',
        role: 'usage',
        content: {
          usage: { input_tokens: 10, output_tokens: 5 },
          total_cost_usd: 0.01,
          duration_ms: 1200
        }
      }
    ]);
    expect(items.map(i => i.kind)).toEqual([
      'user',
      'tool',
      'assistant',
      'usage'
    ]);
    const tool = items[1];
    expect(tool.kind === 'tool' && tool.result).toBe('a\nb');
  });

  it('streams deltas into one block and keeps unchanged items identical', () => {
    let state = addUserMessage(emptyChat(), 'Say hello');
    state = run(
      state,
      { type: 'start', turn_id: 't1' },
      { type: 'text', delta: 'Hel' }
    );
    const user = state.items[0];
    state = applyEvents(state, [
      { data: { type: 'text', delta: 'lo' }, id: '1-3' }
    ]);
    expect(state.items[0]).toBe(user);
    expect(state.items).toHaveLength(2);
    const answer = state.items[1];
    expect(answer.kind === 'assistant' && answer.text).toBe('Hello');
    expect(answer.kind === 'assistant' && answer.streaming).toBe(true);
    expect(state.running).toBe(true);
    expect(state.lastEventId).toBe('1-3');
    expect(user.turnId).toBe('t1'); // the message just sent joins the turn
    state = applyEvents(state, [
      { data: { type: 'done', stop_reason: 'end_turn' }, id: '1-4' }
    ]);
    expect(state.running).toBe(false);
    const closed = state.items[1];
    expect(closed.kind === 'assistant' && closed.streaming).toBe(false);
  });

  it('shows tool cards, approvals and their outcome', () => {
    let state = run(
      emptyChat(),
      { type: 'start', turn_id: 't' },
      {
        type: 'tool_use',
        id: 'u1',
        name: 'Bash',
        input: { command: 'touch made' }
      },
      {
        type: 'approval_request',
        request_id: 'r1',
        tool: 'Bash',
        input: { command: 'touch made' },
        timeout_seconds: 300
      }
    );
    expect(state.items.map(i => i.kind)).toEqual(['tool', 'approval']);
    state = answerApproval(state, 'r1', true, true);
    const approval = state.items[1];
    expect(approval.kind === 'approval' && approval.status).toBe('allowed');
    expect(approval.kind === 'approval' && approval.remember).toBe(true);
    state = applyEvents(state, [
      {
        data: {
          type: 'tool_result',
          tool_use_id: 'u1',
          content: '',
          is_error: false
        },
        id: '1-4'
      }
    ]);
    const tool = state.items[0];
    expect(tool.kind === 'tool' && tool.result).toBe('');
    expect(tool.kind === 'tool' && tool.isError).toBe(false);
  });

  it('expires unanswered approvals and notes a stop', () => {
    const state = run(
      emptyChat(),
      { type: 'start', turn_id: 't' },
      { type: 'approval_request', request_id: 'r1', tool: 'Bash', input: {} },
      { type: 'done', stop_reason: 'cancelled' }
    );
    const approval = state.items[0];
    expect(approval.kind === 'approval' && approval.status).toBe('expired');
    expect(state.items[1]).toMatchObject({ kind: 'notice', text: 'Stopped.' });
  });

  it('a replayed turn replaces what the history had of it, keeping the user message', () => {
    const history = fromHistory([
      { seq: 1, turn_id: 'old', role: 'user', content: { text: 'first' } },
      {
        seq: 2,
        turn_id: 'old',
        role: 'assistant',
        content: { text: 'answer' }
      },
      { seq: 3, turn_id: 'now', role: 'user', content: { text: 'second' } },
      {
        seq: 4,
        turn_id: 'now',
        role: 'tool_use',
        content: { id: 'x', name: 'Read', input: {} }
      }
    ]);
    const state = run(
      { ...emptyChat(), items: history },
      { type: 'start', turn_id: 'now' },
      { type: 'tool_use', id: 'x', name: 'Read', input: {} },
      { type: 'text', delta: 'partial' }
    );
    expect(state.items.map(i => i.kind)).toEqual([
      'user',
      'assistant',
      'user',
      'tool',
      'assistant'
    ]);
    expect(state.items.filter(i => i.kind === 'tool')).toHaveLength(1);
  });

  it('errors and usage read in plain words', () => {
    const state = run(
      emptyChat(),
      { type: 'start', turn_id: 't' },
      {
        type: 'error',
        code: 'authentication_failed',
        message: 'Claude is not configured'
      },
      {
        type: 'usage',
        usage: {
          input_tokens: 1200,
          cache_read_input_tokens: 34,
          output_tokens: 56
        },
        total_cost_usd: 0.0369, // the process's running total, earlier turns included
        cost_usd: 0.0123,
        duration_ms: 2300
      }
    );
    expect(state.items[0]).toMatchObject({
      kind: 'error',
      message: 'Claude is not configured'
    });
    const usage = state.items[1];
    expect(usage.kind === 'usage' && describeUsage(usage)).toBe(
      '1,234 tokens in · 56 out · $0.0123 · 2.3 s'
    );
  });

  it('summarizes tool inputs', () => {
    expect(shortInput('Bash', { command: 'touch  made\n' })).toBe('touch made');
    expect(shortInput('Write', { file_path: 'a.txt', content: 'x' })).toBe(
      'a.txt'
    );
    expect(shortInput('X', { a: 'b'.repeat(100) }).length).toBe(80);
  });
});

describe('ChatBatcher', () => {
  it('applies all events of a frame at once', () => {
    const frames: (() => void)[] = [];
    const batches: number[] = [];
    const batcher = new ChatBatcher(
      events => batches.push(events.length),
      flush => frames.push(flush)
    );
    for (let i = 0; i < 50; i++) {
      batcher.push({ type: 'text', delta: 'x' }, `1-${i}`);
    }
    expect(frames).toHaveLength(1);
    expect(batches).toEqual([]);
    frames[0]();
    expect(batches).toEqual([50]);
    batcher.push({ type: 'done' }, '1-51');
    batcher.flush();
    expect(batches).toEqual([50, 1]);
    expect(frames).toHaveLength(2);
    frames[1](); // a late frame after an explicit flush is harmless
    expect(batches).toEqual([50, 1]);
  });
});
