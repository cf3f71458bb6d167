import type { ConditionDescription, RuleNode } from '../api/types.ts';

// The rule builder's own model: groups and conditions with ids (for React keys) and a "not" switch on
// each, turned into the server's rule tree ({op: and|or, children} / {op: not, child} / {kind, …}).

export type UiCondition = {
  id: number;
  type: 'condition';
  kind: string;
  negate: boolean;
  params: Record<string, unknown>;
};
export type UiGroup = { id: number; type: 'group'; op: 'and' | 'or'; negate: boolean; children: UiNode[] };
export type UiNode = UiCondition | UiGroup;

let nextId = 1;
export const newId = () => nextId++;

export function newGroup(op: 'and' | 'or' = 'and'): UiGroup {
  return { id: newId(), type: 'group', op, negate: false, children: [] };
}

export function newCondition(kind: string): UiCondition {
  return { id: newId(), type: 'condition', kind, negate: false, params: {} };
}

const isEmpty = (value: unknown) =>
  value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);

/** The server's rule tree, or null while nothing is chosen yet (empty groups are left out). */
export function toRules(node: UiNode): RuleNode | null {
  let rule: RuleNode | null;
  if (node.type === 'condition') {
    const params = Object.fromEntries(Object.entries(node.params).filter(([, v]) => !isEmpty(v)));
    rule = { kind: node.kind, ...params };
  } else {
    const children = node.children.map(toRules).filter((c): c is RuleNode => c !== null);
    rule = children.length === 0 ? null : { op: node.op, children };
  }
  return rule && node.negate ? { op: 'not', child: rule } : rule;
}

/** Replaces the node with `id` anywhere in the tree (or removes it when `replacement` is null). */
export function updateNode(root: UiGroup, id: number, replacement: UiNode | null): UiGroup {
  const visit = (node: UiNode): UiNode | null => {
    if (node.id === id) return replacement;
    if (node.type === 'condition') return node;
    return { ...node, children: node.children.map(visit).filter((c): c is UiNode => c !== null) };
  };
  return visit(root) as UiGroup;
}

/** A parameter's input value as the server expects it (numbers for integer lists, etc.). */
export function parameterValue(condition: ConditionDescription, name: string, raw: unknown): unknown {
  const parameter = condition.parameters.find((p) => p.name === name);
  if (!parameter || raw === '' || raw === null || raw === undefined) return undefined;
  if (parameter.type === 'array' && Array.isArray(raw)) {
    return parameter.items === 'integer' || parameter.items === 'number' ? raw.map(Number) : raw;
  }
  return raw;
}
