// Reading a run's steps: each block's status on the canvas (a block in a
// loop has one step per iteration: the worst one shows), its outputs for
// the mapping picker, and whether a run has ended.
import type { RunStatus, StepRecord, StepStatus } from '../api/types';

export const TERMINAL: ReadonlySet<RunStatus> = new Set(['finished', 'finished-with-warnings', 'failed', 'stopped']);

const RANK: Record<StepStatus, number> = { succeeded: 0, ignored: 1, warning: 2, failed: 3 };

export interface BlockRunState {
  status: StepStatus | 'running';
  count: number;
}

/** Each block's worst step status and step count; `running` marks the block running now. */
export function blockStates(steps: readonly StepRecord[], running: string | null = null): Map<string, BlockRunState> {
  const out = new Map<string, BlockRunState>();
  for (const s of steps) {
    const cur = out.get(s.block_id);
    if (!cur || cur.status === 'running') out.set(s.block_id, { status: s.status, count: (cur?.count ?? 0) + 1 });
    else out.set(s.block_id, { status: RANK[s.status] > RANK[cur.status] ? s.status : cur.status, count: cur.count + 1 });
  }
  if (running) out.set(running, { status: 'running', count: out.get(running)?.count ?? 0 });
  return out;
}

/** Each block's first recorded output (null for censored blocks and failures). */
export function blockOutputs(steps: readonly StepRecord[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const s of steps) if (!out.has(s.block_id) && !s.censored && s.output !== null && s.output !== undefined) out.set(s.block_id, s.output);
  return out;
}

/** Add a streamed step to the list (kept in seq order, no duplicates). */
export function mergeStep(steps: readonly StepRecord[], step: StepRecord): StepRecord[] {
  if (steps.some((s) => s.seq === step.seq)) return steps.map((s) => (s.seq === step.seq ? step : s));
  const next = [...steps, step];
  if (steps.length > 0 && steps[steps.length - 1].seq > step.seq) next.sort((a, b) => a.seq - b.seq);
  return next;
}

/**
 * The block running now, when it can be known for sure: a step is written
 * when its block finishes, and after a plain block the run goes on to its
 * `next` block. After a condition or a loop (whose branch or iteration is
 * not in the step) nothing is claimed.
 */
export function runningBlock(
  status: RunStatus | undefined,
  steps: readonly StepRecord[],
  nextOf: (blockId: string) => string | undefined,
): string | null {
  if (status !== 'running' || steps.length === 0) return null;
  const last = steps[steps.length - 1];
  if (last.status === 'failed' || ['condition', 'case', 'loop', 'loop-range', 'loop-while', 'loop-batch', 'stop', 'exit-loop'].includes(last.block_type)) return null;
  return nextOf(last.block_id) ?? null;
}
