import { type HeaderList, withHeader, withoutHeader } from '../core/header-list.ts';
import { validateHeader } from './validation.ts';

/** Request headers an uploader collects for the operations it creates (R5, R63). */
export class RequestHeaders {
  #list: HeaderList = [];

  set(name: string, value: string): void {
    const [checkedName, checkedValue] = validateHeader(name, value);
    this.#list = withHeader(this.#list, checkedName, checkedValue);
  }

  remove(name: string): void {
    this.#list = withoutHeader(this.#list, String(name));
  }

  toArray(): HeaderList {
    return this.#list.map(([name, value]) => [name, value]);
  }
}
