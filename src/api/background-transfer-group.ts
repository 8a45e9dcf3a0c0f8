import { BackgroundTransferBehavior } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import type { TransferGroupSpec } from '../core/snapshot.ts';
import { validateEnumValue } from './validation.ts';

const groups = new Map<string, BackgroundTransferGroup>();

/**
 * A named group of operations. R26: createGroup with an existing name returns the
 * existing group. R27: groups persist with their operations in the store.
 */
export class BackgroundTransferGroup {
  readonly name: string;
  #transferBehavior: BackgroundTransferBehavior = BackgroundTransferBehavior.parallel;

  private constructor(name: string) {
    this.name = name;
  }

  static createGroup(name: string): BackgroundTransferGroup {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'a transfer group needs a non-empty name');
    }
    let group = groups.get(name);
    if (!group) {
      group = new BackgroundTransferGroup(name);
      groups.set(name, group);
    }
    return group;
  }

  /** Parallel (default, R30) or Serialized. */
  get transferBehavior(): BackgroundTransferBehavior {
    return this.#transferBehavior;
  }
  set transferBehavior(value: BackgroundTransferBehavior) {
    this.#transferBehavior = validateEnumValue('transferBehavior', value, BackgroundTransferBehavior);
  }

  /** @internal */
  toSpec(): TransferGroupSpec {
    return { name: this.name, transferBehavior: this.#transferBehavior };
  }

  /** @internal The group object for a stored spec (R26: one object per name in a process). */
  static fromSpec(spec: TransferGroupSpec): BackgroundTransferGroup {
    const group = BackgroundTransferGroup.createGroup(spec.name);
    group.#transferBehavior = spec.transferBehavior;
    return group;
  }
}
