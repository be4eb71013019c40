import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../api/types';
import { blockOutputs, blockStates, mergeStep, runningBlock } from './runModel';

const step = (seq: number, block_id: string, status: StepRecord['status'], output: unknown = null, censored = false): StepRecord => ({
  seq,
  block_id,
  block_type: 'sleep',
  status,
  attempts: 1,
  started_at: 0,
  duration_us: 10,
  input: null,
  output,
  error: null,
  fuel_used: null,
  http_calls: [],
  logs: [],
  censored,
  input_bytes: 0,
  output_bytes: 0,
});

describe('run model', () => {
  it('shows the worst status of a block and its step count', () => {
    const m = blockStates([step(0, 'A', 'succeeded'), step(1, 'B', 'succeeded'), step(2, 'B', 'warning'), step(3, 'B', 'succeeded')]);
    expect(m.get('A')).toEqual({ status: 'succeeded', count: 1 });
    expect(m.get('B')).toEqual({ status: 'warning', count: 3 });
  });
  it('keeps first outputs, never censored ones', () => {
    const m = blockOutputs([step(0, 'A', 'succeeded', { x: 1 }), step(1, 'A', 'succeeded', { x: 2 }), step(2, 'S', 'succeeded', null, true)]);
    expect(m.get('A')).toEqual({ x: 1 });
    expect(m.has('S')).toBe(false);
  });
  it('merges streamed steps in order without duplicates', () => {
    let steps = mergeStep([], step(1, 'B', 'succeeded'));
    steps = mergeStep(steps, step(0, 'A', 'succeeded'));
    steps = mergeStep(steps, step(1, 'B', 'failed'));
    expect(steps.map((s) => [s.seq, s.status])).toEqual([
      [0, 'succeeded'],
      [1, 'failed'],
    ]);
  });
});

describe('runningBlock', () => {
  const next = (id: string) => ({ A: 'B', B: 'C' })[id];
  it('is the next block after the last plain step while running', () => {
    expect(runningBlock('running', [step(0, 'A', 'succeeded')], next)).toBe('B');
    expect(runningBlock('finished', [step(0, 'A', 'succeeded')], next)).toBeNull();
    expect(runningBlock('running', [step(0, 'A', 'failed')], next)).toBeNull();
    expect(runningBlock('running', [{ ...step(0, 'A', 'succeeded'), block_type: 'condition' }], next)).toBeNull();
    expect(runningBlock('running', [step(0, 'C', 'succeeded')], next)).toBeNull();
  });
});
