// A condition block's clauses: left, operator, right; combined with all/some.
import type { DocBlock } from '../api/types';
import { AnyField, SelectField, TemplateField } from './fields';

const OPERATORS = ['=', '!=', '>', '>=', '<', '<=', 'empty', 'not empty', 'contains', 'does not contain', 'in list', 'not in list', 'is number', 'is text', 'is list', 'is object', 'is true', 'is false'];
const UNARY = new Set(['empty', 'not empty', 'is number', 'is text', 'is list', 'is object', 'is true', 'is false']);

interface Clause {
  left: unknown;
  op: string;
  right?: unknown;
}
interface Spec {
  mode?: 'all' | 'some';
  clauses: Clause[];
  [k: string]: unknown;
}

export function ConditionEditor({
  block,
  onChange,
  problems,
}: {
  block: DocBlock;
  onChange: (b: DocBlock, field: string) => void;
  problems: Map<string, string[]>;
}) {
  const spec = (block.condition as Spec | undefined) ?? { clauses: [] };
  const set = (next: Spec, field: string) => onChange({ ...block, condition: next }, field);
  const setClause = (i: number, c: Clause) => set({ ...spec, clauses: spec.clauses.map((x, j) => (j === i ? c : x)) }, `clause${i}`);
  return (
    <fieldset>
      <legend>Condition</legend>
      <SelectField
        label="Combine"
        value={spec.mode ?? 'all'}
        options={[
          { value: 'all', label: 'all clauses hold' },
          { value: 'some', label: 'at least one holds' },
        ]}
        onChange={(v) => set({ ...spec, mode: v as 'all' | 'some' }, 'mode')}
        testId="condition-mode"
        errors={problems.get('condition.mode')}
      />
      {spec.clauses.map((c, i) => (
        <fieldset key={i} aria-label={`Clause ${i + 1}`}>
          <legend>Clause {i + 1}</legend>
          <TemplateField
            label="Left"
            value={typeof c.left === 'string' ? c.left : JSON.stringify(c.left ?? '')}
            onChange={(v) => setClause(i, { ...c, left: v })}
            testId={`clause-${i}-left`}
            errors={problems.get(`condition.clauses[${i}].left`)}
          />
          <SelectField
            label="Operator"
            value={c.op}
            options={OPERATORS.map((o) => ({ value: o, label: o }))}
            onChange={(v) => setClause(i, UNARY.has(v) ? { left: c.left, op: v } : { ...c, op: v })}
            testId={`clause-${i}-op`}
            errors={problems.get(`condition.clauses[${i}].op`)}
          />
          {!UNARY.has(c.op) && (
            <AnyField
              label="Right"
              value={c.right}
              onChange={(v) => setClause(i, { ...c, right: v })}
              testId={`clause-${i}-right`}
              errors={problems.get(`condition.clauses[${i}].right`)}
            />
          )}
          <button type="button" className="small" onClick={() => set({ ...spec, clauses: spec.clauses.filter((_, j) => j !== i) }, 'clauses')}>
            Remove clause {i + 1}
          </button>
        </fieldset>
      ))}
      <button type="button" onClick={() => set({ ...spec, clauses: [...spec.clauses, { left: '', op: '=', right: '' }] }, 'clauses')} data-testid="add-clause">
        Add clause
      </button>
    </fieldset>
  );
}
