import { describe, expect, it } from 'vitest';
import type { ConditionDescription } from '../../web/src/api/types.ts';
import {
  newCondition,
  newGroup,
  parameterValue,
  toRules,
  type UiGroup,
  updateNode,
} from '../../web/src/pages/rule-tree.ts';

// The segment builder's model → the server's rule tree (written out by hand below).
describe('rule builder tree', () => {
  it('is null until a condition is chosen, and leaves out empty groups and empty parameters', () => {
    const root = newGroup('and');
    expect(toRules(root)).toBeNull();
    const inner = newGroup('or');
    root.children.push(inner);
    expect(toRules(root)).toBeNull();
    const tier = { ...newCondition('tier'), params: { tiers: ['loyal'], unused: '', none: [] } };
    root.children.push(tier);
    expect(toRules(root)).toEqual({ op: 'and', children: [{ kind: 'tier', tiers: ['loyal'] }] });
  });

  it('wraps negated conditions and groups in not, at any depth', () => {
    const lapsed = { ...newCondition('last_purchase'), negate: true, params: { withinDays: 180 } };
    const wine = { ...newCondition('purchased'), params: { categories: ['wine'] } };
    const sake = { ...newCondition('purchased'), params: { categories: ['sake'] } };
    const either: UiGroup = { ...newGroup('or'), negate: true, children: [wine, sake] };
    const root: UiGroup = { ...newGroup('and'), children: [lapsed, either] };
    expect(toRules(root)).toEqual({
      op: 'and',
      children: [
        { op: 'not', child: { kind: 'last_purchase', withinDays: 180 } },
        {
          op: 'not',
          child: {
            op: 'or',
            children: [
              { kind: 'purchased', categories: ['wine'] },
              { kind: 'purchased', categories: ['sake'] },
            ],
          },
        },
      ],
    });
  });

  it('replaces or removes a node by id without touching the others', () => {
    const a = newCondition('tier');
    const b = newCondition('age');
    const inner: UiGroup = { ...newGroup('or'), children: [b] };
    const root: UiGroup = { ...newGroup('and'), children: [a, inner] };
    const removed = updateNode(root, b.id, null);
    expect(removed.children).toHaveLength(2);
    expect((removed.children[1] as UiGroup).children).toEqual([]);
    const replaced = updateNode(root, a.id, { ...a, params: { tiers: ['new'] } });
    expect(toRules(replaced)).toEqual({
      op: 'and',
      children: [
        { kind: 'tier', tiers: ['new'] },
        { op: 'or', children: [{ kind: 'age' }] },
      ],
    });
    expect(root.children[0]).toBe(a); // the original tree is unchanged
  });

  it('turns list inputs into numbers where the parameter is a list of integers', () => {
    const condition: ConditionDescription = {
      kind: 'home_store',
      label: 'Home store',
      description: '',
      parameters: [{ name: 'storeIds', type: 'array', items: 'integer', required: true, values: 'stores' }],
    };
    expect(parameterValue(condition, 'storeIds', ['1', '12'])).toEqual([1, 12]);
    expect(parameterValue(condition, 'storeIds', '')).toBeUndefined();
    expect(parameterValue(condition, 'unknown', 'x')).toBeUndefined();
  });
});
