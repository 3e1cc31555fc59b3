import { describe, expect, it } from 'vitest';
import { LogBudget } from '../../../src/ws-hub/core/log-budget.js';

describe('LogBudget', () => {
  it('lets maxLines through per window and reports how many were held back', () => {
    let now = 0;
    const budget = new LogBudget(2, 1000, () => now);
    expect(budget.take()).toEqual({ note: '' });
    expect(budget.take()).toEqual({ note: '' });
    expect(budget.take()).toBeUndefined();
    expect(budget.take()).toBeUndefined();
    now = 1000;
    expect(budget.take()).toEqual({ note: ' (2 similar lines not logged)' });
    expect(budget.take()).toEqual({ note: '' });
    expect(budget.take()).toBeUndefined();
    now = 2500;
    expect(budget.take()).toEqual({ note: ' (1 similar line not logged)' });
  });
});
