// What the console knows about each standard block type: its outgoing
// handles (the document's edge branches), a label, and the fields a new
// block of that type starts with. Connector blocks are type `connector`.
import type { Branch, DocBlock } from '../api/types';

export interface BlockKind {
  type: string;
  label: string;
  description: string;
  /** Source handles, in the order drawn left to right. */
  branches: Branch[];
  /** A new block's fields besides `id` and `type`. */
  template: () => Partial<DocBlock>;
}

const kinds: BlockKind[] = [
  { type: 'start', label: 'Start', description: 'Where every run begins; its output is the trigger payload.', branches: ['next'], template: () => ({}) },
  {
    type: 'condition',
    label: 'Condition',
    description: 'Go down the true or the false branch, then on to next.',
    branches: ['true', 'false', 'next'],
    template: () => ({ condition: { mode: 'all', clauses: [{ left: '', op: '=', right: '' }] } }),
  },
  {
    type: 'case',
    label: 'Case',
    description: "Go down the first case whose values match, or the default branch, then on to next.",
    branches: ['default', 'next'],
    template: () => ({ value: '', cases: [{ name: 'first', match: '' }] }),
  },
  {
    type: 'loop',
    label: 'Loop',
    description: 'Run the body once per item of a list, then go on to next.',
    branches: ['body', 'next'],
    template: () => ({ over: '' }),
  },
  {
    type: 'loop-range',
    label: 'Loop over numbers',
    description: 'Run the body for each whole number from … to (inclusive) by step.',
    branches: ['body', 'next'],
    template: () => ({ from: 1, to: 10 }),
  },
  {
    type: 'loop-while',
    label: 'Loop while / until',
    description: 'Run the body while (or until) a condition holds, at most max_iterations times.',
    branches: ['body', 'next'],
    template: () => ({ mode: 'while', condition: { mode: 'all', clauses: [{ left: '', op: '=', right: '' }] }, max_iterations: 100 }),
  },
  {
    type: 'loop-batch',
    label: 'Loop in batches',
    description: 'Run the body once per chunk of a list (the item is the chunk).',
    branches: ['body', 'next'],
    template: () => ({ over: '', size: 100 }),
  },
  { type: 'exit-loop', label: 'Exit loop', description: 'Leave the enclosing loop, or the one named in "loop".', branches: [], template: () => ({}) },
  {
    type: 'variable',
    label: 'Variable',
    description: 'Set, append (one item or a whole list) to, merge into or increment a variable.',
    branches: ['next'],
    template: () => ({ variable: '', action: 'set', value: null }),
  },
  {
    type: 'output',
    label: 'Output',
    description: "Add to, set or merge into the run's output.",
    branches: ['next'],
    template: () => ({ mode: 'add', value: '' }),
  },
  { type: 'stop', label: 'Stop', description: 'End the run here.', branches: [], template: () => ({}) },
  {
    type: 'error',
    label: 'Error',
    description: 'Fail the run, or record a warning and go on.',
    branches: ['next'],
    template: () => ({ message: '', mode: 'fail' }),
  },
  { type: 'sleep', label: 'Sleep', description: 'Wait for a number of milliseconds.', branches: ['next'], template: () => ({ ms: 1000 }) },
  {
    type: 'update-run-title',
    label: 'Update run title',
    description: "Set the run's title, shown in run lists.",
    branches: ['next'],
    template: () => ({ title: '' }),
  },
  {
    type: 'state-get',
    label: 'Get state',
    description: "Read a key of the automation's state, kept between runs (or the default).",
    branches: ['next'],
    template: () => ({ key: '' }),
  },
  {
    type: 'state-set',
    label: 'Set state',
    description: "Store a value under a key of the automation's state, at once.",
    branches: ['next'],
    template: () => ({ key: '', value: '' }),
  },
  {
    type: 'state-increment',
    label: 'Increment state',
    description: "Add to a number in the automation's state (a missing key counts as 0).",
    branches: ['next'],
    template: () => ({ key: '', by: 1 }),
  },
  {
    type: 'input',
    label: 'Input form',
    description: 'Pause the run until someone submits a form (through the API or the run view), or its timeout passes.',
    branches: ['next'],
    template: () => ({
      title: 'Approve',
      schema: { type: 'object', properties: { approved: { type: 'boolean', title: 'Approved' }, comment: { type: 'string', title: 'Comment' } }, required: ['approved'] },
      timeout_ms: 86400000,
    }),
  },
  {
    type: 'call_automation',
    label: 'Call automation',
    description: "Run another automation; synchronously its output becomes this block's.",
    branches: ['next'],
    template: () => ({ automation: '', mode: 'sync' }),
  },
];

export const STANDARD_KINDS: readonly BlockKind[] = kinds;

const connectorKind: BlockKind = {
  type: 'connector',
  label: 'Connector',
  description: "A connector's block.",
  branches: ['next'],
  template: () => ({ inputs: {} }),
};

const unknownKind: BlockKind = { type: '?', label: 'Block', description: '', branches: ['next'], template: () => ({}) };

export function kindOf(type: string): BlockKind {
  if (type === 'connector') return connectorKind;
  return kinds.find((k) => k.type === type) ?? unknownKind;
}

const LOOPS: readonly string[] = ['loop', 'loop-range', 'loop-while', 'loop-batch'];

/** A case block's case names, as written (entries without a name are skipped). */
function caseNames(block: DocBlock): string[] {
  const cases = Array.isArray(block.cases) ? (block.cases as unknown[]) : [];
  return cases
    .map((c) => (c && typeof c === 'object' ? (c as { name?: unknown }).name : undefined))
    .filter((n): n is string => typeof n === 'string' && n !== '');
}

/** The outgoing handles of this block: its type's, and for a case block one per case. */
export function branchesOf(block: DocBlock): Branch[] {
  if (block.type === 'case') return [...caseNames(block).map((n): Branch => `case:${n}`), 'default', 'next'];
  return kindOf(block.type).branches;
}

/** May a block of this type have an outgoing edge on this branch? (plan.rs rules) */
export function branchAllowed(type: string, branch: Branch, block?: DocBlock): boolean {
  if (branch.startsWith('case:')) {
    return type === 'case' && (block === undefined || caseNames(block).includes(branch.slice('case:'.length)));
  }
  switch (branch) {
    case 'next':
      return type !== 'stop' && type !== 'exit-loop';
    case 'true':
    case 'false':
      return type === 'condition';
    case 'body':
      return LOOPS.includes(type);
    case 'default':
      return type === 'case';
    default:
      return false;
  }
}

/** How a branch is labelled: its name, or a case's name. */
export function branchLabel(branch: Branch): string {
  return branch.startsWith('case:') ? branch.slice('case:'.length) : branch;
}

/** A fresh id like `Sleep2` not yet used, valid for the document's id rule. */
export function freshId(base: string, taken: ReadonlySet<string>): string {
  const clean = base.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 56) || 'Block';
  if (!taken.has(clean)) return clean;
  for (let i = 2; ; i++) {
    const id = `${clean}${i}`;
    if (!taken.has(id)) return id;
  }
}

export function blockTitle(block: DocBlock): string {
  if (block.type === 'connector') return `${block.connector ?? '?'} · ${block.block ?? '?'}`;
  return kindOf(block.type).label;
}

const short = (v: unknown): string | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
};

/** One line saying what the block does, shown on the canvas under its type. */
export function blockSummary(block: DocBlock): string | undefined {
  switch (block.type) {
    case 'connector': {
      const inputs = (block.inputs && typeof block.inputs === 'object' ? block.inputs : {}) as Record<string, unknown>;
      const first = inputs.url ?? inputs.channel ?? Object.values(inputs).find((v) => typeof v === 'string' && v !== '');
      return short(first);
    }
    case 'condition': {
      const c = (block.condition as { clauses?: { left: unknown; op: string; right?: unknown }[] } | undefined)?.clauses?.[0];
      return c ? short(`${short(c.left) ?? ''} ${c.op} ${c.right === undefined ? '' : (short(c.right) ?? '')}`.trim()) : undefined;
    }
    case 'loop':
    case 'loop-batch':
      return short(block.over);
    case 'loop-range':
      return short(`${short(block.from) ?? '?'} … ${short(block.to) ?? '?'}${block.step === undefined ? '' : ` by ${short(block.step) ?? ''}`}`);
    case 'loop-while': {
      const c = (block.condition as { clauses?: { left: unknown; op: string; right?: unknown }[] } | undefined)?.clauses?.[0];
      const what = c ? `${short(c.left) ?? ''} ${c.op} ${c.right === undefined ? '' : (short(c.right) ?? '')}`.trim() : '';
      return short(`${String(block.mode ?? 'while')} ${what}`);
    }
    case 'case':
      return short(block.value);
    case 'update-run-title':
      return short(block.title);
    case 'state-get':
      return short(block.key);
    case 'state-set':
      return short(`${short(block.key) ?? ''} = ${short(block.value) ?? ''}`);
    case 'state-increment':
      return short(`${short(block.key) ?? ''} + ${block.by === undefined ? '1' : (short(block.by) ?? '')}`);
    case 'input':
      return short(block.title) ?? 'form';
    case 'exit-loop':
      return typeof block.loop === 'string' ? `leave ${block.loop}` : undefined;
    case 'variable':
      return short(`${String(block.action ?? '')} ${String(block.variable ?? '')}`.trim());
    case 'sleep':
      return block.ms === undefined ? undefined : `${String(block.ms)} ms`;
    case 'output':
      return short(`${String(block.mode ?? 'add')}: ${short(block.value) ?? ''}`);
    case 'error':
      return short(block.message);
    case 'call_automation':
      return short(block.automation);
    default:
      return undefined;
  }
}
