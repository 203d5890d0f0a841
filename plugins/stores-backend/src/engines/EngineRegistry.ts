import { NotFoundError } from '@backstage/errors';
import { StoreEngine } from './types';

/** The engines this backend can run: WooCommerce plus any added through the extension point. */
export class EngineRegistry {
  private readonly engines = new Map<string, StoreEngine>();

  add(engine: StoreEngine): void {
    if (this.engines.has(engine.name)) {
      throw new Error(
        `A store engine named '${engine.name}' is already registered`,
      );
    }
    this.engines.set(engine.name, engine);
  }

  has(name: string): boolean {
    return this.engines.has(name);
  }

  get(name: string): StoreEngine {
    const engine = this.engines.get(name);
    if (!engine)
      throw new NotFoundError(`No store engine named '${name}' is installed`);
    return engine;
  }

  list(): StoreEngine[] {
    return [...this.engines.values()];
  }
}
