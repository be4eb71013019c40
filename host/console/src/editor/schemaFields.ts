// Turns a block's input JSON Schema into the fields of its form: one per
// property, with the control that fits its type. Pure, so it is tested.
import type { JsonSchema } from '../api/types';

export type FieldKind = 'text' | 'enum' | 'number' | 'boolean' | 'json';

export interface FieldSpec {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  options?: string[];
  defaultValue?: unknown;
}

/**
 * A property's schema as the form reads it: `$ref`s into the root's
 * definitions followed, and `Option<T>` (`anyOf: [T, {type: null}]`, as
 * schemars writes it) unwrapped to T. Boolean schemas (`true`) are empty.
 */
export function resolveSchema(schema: unknown, root: JsonSchema, depth = 0): JsonSchema {
  if (!schema || typeof schema !== 'object' || depth > 8) return {};
  let s = schema as JsonSchema;
  const ref = s.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    let cur: unknown = root;
    for (const part of ref.slice(2).split('/')) cur = (cur as Record<string, unknown> | undefined)?.[part];
    const { $ref: _r, ...rest } = s;
    s = { ...resolveSchema(cur, root, depth + 1), ...rest };
  }
  const alts = s.anyOf as unknown[] | undefined;
  if (Array.isArray(alts)) {
    const real = alts.filter((a) => !(a && typeof a === 'object' && (a as JsonSchema).type === 'null'));
    if (real.length === 1 && real.length < alts.length) {
      const { anyOf: _a, ...rest } = s;
      s = { ...resolveSchema(real[0], root, depth + 1), ...rest };
    }
  }
  return s;
}

function enumOf(s: JsonSchema): string[] | undefined {
  if (Array.isArray(s.enum)) return s.enum.filter((x) => typeof x === 'string') as string[];
  const alts = (s.oneOf ?? s.anyOf) as JsonSchema[] | undefined;
  if (Array.isArray(alts) && alts.length > 0 && alts.every((a) => typeof a?.const === 'string')) {
    return alts.map((a) => a.const as string);
  }
  return undefined;
}

function typeOf(s: JsonSchema): string | undefined {
  if (typeof s.type === 'string') return s.type;
  if (Array.isArray(s.type)) return (s.type as string[]).find((t) => t !== 'null');
  return undefined;
}

const humanize = (name: string) => name.replace(/[_-]+/g, ' ').replace(/^\w/, (c) => c.toUpperCase());

export function fieldsOf(schema: JsonSchema | undefined): FieldSpec[] {
  if (!schema || typeof schema !== 'object') return [];
  const root = schema;
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  return Object.entries(props).map(([name, raw]) => {
    const s = resolveSchema(raw, root);
    const options = enumOf(s);
    const t = typeOf(s);
    const kind: FieldKind = options
      ? 'enum'
      : t === 'string'
        ? 'text'
        : t === 'number' || t === 'integer'
          ? 'number'
          : t === 'boolean'
            ? 'boolean'
            : 'json';
    return {
      name,
      label: typeof s.title === 'string' ? s.title : humanize(name),
      kind,
      required: required.has(name),
      description: typeof s.description === 'string' ? s.description : undefined,
      options,
      defaultValue: s.default,
    };
  });
}

/** A number field's text back to a value: a number when it is one, else the text (a reference). */
export function readNumber(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : text;
}
