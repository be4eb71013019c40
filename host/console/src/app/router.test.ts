import { describe, expect, it } from 'vitest';
import { match, queryParam } from './router';

describe('router', () => {
  it('matches patterns with params', () => {
    expect(match('/automations/:id/edit', '/automations/a%2Db/edit')).toEqual({ id: 'a-b' });
    expect(match('/automations/:id/edit', '/automations/x')).toBeNull();
    expect(match('/', '/')).toEqual({});
    expect(match('/runs', '/runs?automation=x')).toEqual({});
  });
  it('reads query params', () => {
    expect(queryParam('/runs?automation=x&y=1', 'automation')).toBe('x');
    expect(queryParam('/runs', 'automation')).toBeNull();
  });
});
