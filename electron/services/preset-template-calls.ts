// The preset calls and a model's template and defaults calls, bound to their services (spread
// into the dispatch's handlers beside the others).
import type { z } from 'zod';
import type { chatTemplateCalls } from '../shared/chat-template-types.ts';
import type { calls, CallOutput } from '../shared/contract.ts';
import type { presetCalls } from '../shared/presets.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { ModelService } from './model-service.ts';
import type { PresetService } from './preset-service.ts';

type Names = keyof typeof presetCalls | keyof typeof chatTemplateCalls;
type HandlersFor<N extends Names> = { [Name in N]: (input: z.output<(typeof calls)[Name]>) => CallOutput<Name> | Promise<CallOutput<Name>> };

export function presetAndTemplateHandlers({ presets, registry, models }: { presets: PresetService; registry: ModelRegistry; models: ModelService }): HandlersFor<Names> {
  return {
    'presets.list': () => presets.list(),
    'presets.create': (input) => presets.create(input),
    'presets.rename': ({ id, name }) => presets.rename(id, name),
    'presets.delete': ({ id }) => presets.delete(id),
    'models.previewChatTemplate': ({ path, modelId, template }) => registry.previewChatTemplate({ path, modelId }, template),
    'models.setChatTemplate': async ({ id, template }) => {
      const model = await registry.setChatTemplate(id, template);
      // The loaded model reads its template at load: load it again to use the new one now.
      const status = models.getStatus();
      if (status.modelId === id && status.state === 'ready') await models.load(id);
      return model;
    },
    'models.defaults': ({ id }) => registry.defaults(id),
  };
}
