import { describe, expect, it } from 'vitest';
import { BUILT_IN_PRESETS, layerSettings, presetSamplingSchema } from './presets.ts';

const app = { sampling: { temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.1, maxNewTokens: 512 }, systemPrompt: 'You are a helpful assistant.' };

describe('layerSettings', () => {
  it('takes each field from the highest layer that states it: conversation > preset > model > app', () => {
    const layered = layerSettings({
      app,
      model: { temperature: 0.6, topK: 20, topP: 0.8 },
      preset: { sampling: { temperature: 0, topK: 5 }, systemPrompt: null },
      conversation: { sampling: { temperature: 1.2, seed: 9 }, systemPrompt: null },
    });
    expect(layered.sampling).toEqual({ temperature: 1.2, topK: 5, topP: 0.8, minP: 0.05, repetitionPenalty: 1.1, maxNewTokens: 512 });
    expect(layered.sources).toEqual({ temperature: 'conversation', topK: 'preset', topP: 'model', minP: 'app', repetitionPenalty: 'app', maxNewTokens: 'app' });
    expect(layered.seed).toBe(9);
    expect(layered).toMatchObject({ systemPrompt: 'You are a helpful assistant.', systemPromptSource: 'app' });
  });

  it("the system prompt: the conversation's, else the preset's, else the app's; an empty one of the conversation still counts", () => {
    const preset = { sampling: {}, systemPrompt: 'Answer in French.' };
    expect(layerSettings({ app, model: null, preset, conversation: { sampling: null, systemPrompt: null } })).toMatchObject({ systemPrompt: 'Answer in French.', systemPromptSource: 'preset' });
    expect(layerSettings({ app, model: null, preset, conversation: { sampling: null, systemPrompt: '' } })).toMatchObject({ systemPrompt: '', systemPromptSource: 'conversation' });
  });

  it('built-in presets state valid sampling and never a seed', () => {
    for (const preset of BUILT_IN_PRESETS) expect(presetSamplingSchema.safeParse(preset.sampling).success, preset.id).toBe(true);
    expect(presetSamplingSchema.safeParse({ seed: 1 }).success).toBe(false);
  });
});
