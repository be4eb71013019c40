import { describe, expect, it } from 'vitest';
import { readAny, showAny } from './fields';
import { fieldsOf, readNumber } from './schemaFields';

describe('fieldsOf', () => {
  it('maps types, enums, required fields and descriptions', () => {
    const fields = fieldsOf({
      type: 'object',
      required: ['url'],
      $defs: { Method: { oneOf: [{ const: 'GET' }, { const: 'POST' }] } },
      properties: {
        url: { type: 'string', description: 'Where to send it' },
        method: { $ref: '#/$defs/Method' },
        timeout_ms: { type: ['integer', 'null'] },
        follow: { type: 'boolean', default: true },
        headers: { type: 'object' },
        mode: { enum: ['a', 'b'] },
      },
    });
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['url', 'text', true],
      ['method', 'enum', false],
      ['timeout_ms', 'number', false],
      ['follow', 'boolean', false],
      ['headers', 'json', false],
      ['mode', 'enum', false],
    ]);
    expect(fields[0].description).toBe('Where to send it');
    expect(fields[1].options).toEqual(['GET', 'POST']);
    expect(fields[2].label).toBe('Timeout ms');
    expect(fields[3].defaultValue).toBe(true);
  });
  it('unwraps Option<T> and boolean schemas as schemars writes them', () => {
    const fields = fieldsOf({
      type: 'object',
      $defs: { Mode: { type: 'string', enum: ['a', 'b'] } },
      properties: { mode: { anyOf: [{ $ref: '#/$defs/Mode' }, { type: 'null' }], description: 'Which' }, json: true },
    });
    expect(fields.map((f) => [f.name, f.kind])).toEqual([
      ['mode', 'enum'],
      ['json', 'json'],
    ]);
    expect(fields[0].options).toEqual(['a', 'b']);
    expect(fields[0].description).toBe('Which');
  });

  it('has no fields without a schema', () => {
    expect(fieldsOf(undefined)).toEqual([]);
  });
});

describe('value editing', () => {
  it('reads numbers or keeps references', () => {
    expect(readNumber('42')).toBe(42);
    expect(readNumber('{$.Start.n}')).toBe('{$.Start.n}');
    expect(readNumber(' ')).toBeUndefined();
  });
  it('reads JSON or falls back to text', () => {
    expect(readAny('{"a": 1}')).toEqual({ a: 1 });
    expect(readAny('{$.Start.x}')).toBe('{$.Start.x}');
    expect(readAny('hello')).toBe('hello');
    expect(readAny('12')).toBe(12);
    expect(showAny({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(showAny('text')).toBe('text');
  });
});
