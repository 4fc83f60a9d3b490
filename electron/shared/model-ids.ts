// Ids the main side and the renderer must agree on without asking each other.
import type { ModelDtype } from './model-host-protocol.ts';

/** The registry id a catalog download installs as (catalog ids already are valid model ids). */
export function catalogModelId(catalogId: string, dtype: ModelDtype): string {
  return `${catalogId}-${dtype}`;
}
