/**
 * What `upload` and `download` accept beyond their two arguments, without commander: the command tree
 * (transfer-options.ts) declares the options from these names, and the lean path (transfer-argv.ts)
 * reads a plain command line by them, so the two accept the same values.
 */

export const PRIORITY_NAMES = ['default', 'high', 'low'] as const;
export const COST_POLICY_NAMES = ['default', 'unrestrictedOnly', 'always'] as const;

export type PriorityName = (typeof PRIORITY_NAMES)[number];
export type CostPolicyName = (typeof COST_POLICY_NAMES)[number];

/** The shared options as both paths hand them on, defaults applied. */
export interface TransferChoices {
  /** Each as typed: "Name: value". */
  headers: readonly string[];
  priority: PriorityName;
  costPolicy: CostPolicyName;
  group: string | undefined;
  detach: boolean;
  json: boolean;
}
