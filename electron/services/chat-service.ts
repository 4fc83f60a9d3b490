// A conversation turn from the user's words to the stored answer. The user message is
// committed before generation starts; the answer is begun as `streaming`, its text flushed
// to the database in batches as it grows, and marked complete, interrupted (stop, host crash)
// or error at the end. Nothing said by either side is lost on the way.
import { randomInt } from 'node:crypto';
import type { Conversation, GenerationStarted, Message } from '../shared/chat-types.ts';
import type { AppSettings, CallInput, EventPayload, SendStarted } from '../shared/contract.ts';
import type { RecordedToken } from '../shared/token-record.ts';
import { checkSameModel, copyKeptTokens, isRemoteModel, planBranch, planContinue, planStageView, type AnswerStart, type PlannedStart } from './answer-start.ts';
import { ModelHostError } from '../shared/model-host-error.ts';
import { SAMPLING_LIMITS, seededSamplingParamsSchema, type ChatMessage, type LoadedModelInfo, type SamplerStage, type SeededSamplingParams } from '../shared/model-host-protocol.ts';
import { layerSettings, type ModelSamplingDefaults, type Preset } from '../shared/presets.ts';
import type { Storage } from '../storage/index.ts';
import { StorageError } from '../storage/index.ts';
import type { EventBus } from './event-bus.ts';
import type { Generation, ModelHostClient } from './model-host-client.ts';
import type { ModelService } from './model-service.ts';
import type { SettingsService } from './settings-service.ts';

/** A token event as the answer's token record keeps it (unknown where the source did not say). */
export function recordedToken(event: Omit<EventPayload<'generation.token'>, 'conversationId' | 'messageId' | 'text'>, remote = false): RecordedToken {
  return {
    tokenId: event.tokenId,
    probability: event.probability,
    modelProbability: event.modelProbability ?? null,
    entropyBits: event.entropyBits ?? null,
    decodeMs: event.decodeMs ?? null,
    // A remote server's candidates are numbered by place, not by token id: their texts cannot be kept by id.
    candidates: (remote ? [] : (event.candidates ?? [])).map((c) => ({ tokenId: c.tokenId, text: c.text, probability: c.probability, modelProbability: c.modelProbability ?? null })),
  };
}

/** The view a request was made from no longer matches the conversation. */
export class StaleViewError extends Error {
  readonly code = 'stale_view';
  constructor() {
    super('This conversation changed: showing the latest.');
    this.name = 'StaleViewError';
  }
}

/**
 * How an answer that failed is stored. An answer cut off while it was being said keeps its
 * text as `interrupted`: the model host died (a crash: whatever it had said is kept, even
 * nothing), or a remote engine's stream broke after words arrived. Any other failure is an
 * `error` with its reason. The one place this is decided; the event carries the result.
 */
export function failedAnswerStatus(code: string, saidSomething: boolean): 'interrupted' | 'error' {
  if (code === 'host_exited') return 'interrupted';
  if (code.startsWith('remote_') && saidSomething) return 'interrupted';
  return 'error';
}

/** What an answer needs to know of the loaded model beyond the host: its recommended sampling, and a check of its chat template. */
export interface ModelSetup {
  defaults: ModelSamplingDefaults;
  /** Throws a ModelHostError naming the template when it cannot render `messages`. */
  checkTemplate(messages: readonly ChatMessage[]): void;
}

export const NO_MODEL_SETUP: ModelSetup = { defaults: {}, checkTemplate: () => undefined };

export interface ChatServiceOptions {
  /** The preset a conversation follows, by id (null: none). */
  findPreset?: (id: string) => Pick<Preset, 'sampling' | 'systemPrompt'> | null;
  /** Read once per loaded model (the model's folder). */
  modelSetup?: (info: LoadedModelInfo) => Promise<ModelSetup>;
}

interface ActiveAnswer {
  conversationId: string;
  messageId: string;
  generation: Generation | null;
  stopRequested: boolean;
  finished: Promise<void>;
}

export class ChatService {
  private active: ActiveAnswer | null = null;
  /** Set, synchronously, by the request that is starting an answer (before its first await). */
  private starting = false;

  constructor(
    private readonly storage: Storage,
    private readonly host: ModelHostClient,
    private readonly models: ModelService,
    private readonly settings: SettingsService,
    private readonly events: EventBus,
    private readonly options: ChatServiceOptions = {},
  ) {}

  /** Per loaded model (a load makes a new info object): its setup, read once. */
  private readonly setups = new WeakMap<LoadedModelInfo, Promise<ModelSetup>>();

  private async setupFor(info: LoadedModelInfo): Promise<ModelSetup> {
    const read = this.options.modelSetup;
    if (!read) return NO_MODEL_SETUP;
    let setup = this.setups.get(info);
    if (!setup) {
      setup = read(info).catch(() => NO_MODEL_SETUP);
      this.setups.set(info, setup);
    }
    return setup;
  }

  /** Another user of the model host (the OpenAI-compatible API) holding it now. */
  private otherUser: () => boolean = () => false;

  /** The API shares the model host: while it holds it, answers are refused as busy. */
  shareHostWith(isBusy: () => boolean): void {
    this.otherUser = isBusy;
  }

  /** An answer is being written or started. */
  get busy(): boolean {
    return this.active !== null || this.starting;
  }

  /** The answer being generated, if any (one at a time: the model host runs one request). */
  get activeAnswer(): { conversationId: string; messageId: string } | null {
    return this.active ? { conversationId: this.active.conversationId, messageId: this.active.messageId } : null;
  }

  /** Settles when the current answer (if any) has been stored in its final state. */
  async idle(): Promise<void> {
    await this.active?.finished;
  }

  /** The loaded model's recommended sampling (none when no model of this machine is loaded). */
  async loadedModelDefaults(): Promise<ModelSamplingDefaults> {
    const model = await this.models.ready().catch(() => null);
    return model ? (await this.setupFor(model.info)).defaults : {};
  }

  /** The user's message into a conversation, or into a new one (created only once a model is ready), and its answer. */
  send(input: CallInput<'chat.send'>): Promise<SendStarted> {
    return this.exclusively(async () => {
      const model = await this.models.ready();
      const setup = await this.setupFor(model.info);
      let conversationId: string;
      let parentId: string | null | undefined;
      if (input.conversationId !== undefined) {
        conversationId = input.conversationId;
        this.storage.getConversation(conversationId); // NOT_FOUND before anything is written
        parentId = input.parentId === undefined ? undefined : this.parentAsSeen(conversationId, input.parentId);
      } else {
        const wanted = input.newConversation ?? {};
        // A new chat follows the default preset unless its creator says otherwise.
        conversationId = this.storage.createConversation(wanted.presetId === undefined ? { ...wanted, presetId: this.settings.get().defaultPresetId } : wanted).id;
        parentId = null;
      }
      const userMessage = this.storage.appendUserMessage({ conversationId, content: input.content, ...(parentId !== undefined ? { parentId } : {}) });
      const started = this.answer(conversationId, userMessage, model.modelId, setup);
      this.events.emit('conversations.changed', { conversationId, reason: input.conversationId === undefined ? 'created' : 'messages' });
      return started;
    });
  }

  regenerate(input: { messageId: string }): Promise<GenerationStarted> {
    return this.exclusively(async () => {
      const old = this.storage.getMessage(input.messageId);
      if (old.role !== 'assistant' || old.parentId === null) {
        throw new StorageError('INVALID_INPUT', 'Only an answer can be regenerated');
      }
      const model = await this.models.ready();
      const setup = await this.setupFor(model.info);
      const question = this.storage.getMessage(old.parentId);
      const started = this.answer(old.conversationId, question, model.modelId, setup);
      this.events.emit('conversations.changed', { conversationId: old.conversationId, reason: 'messages' });
      return started;
    });
  }

  editAndResend(input: { messageId: string; content: string }): Promise<GenerationStarted> {
    return this.exclusively(async () => {
      const original = this.storage.getMessage(input.messageId);
      if (original.role !== 'user') throw new StorageError('INVALID_INPUT', 'Only a message you wrote can be edited');
      const model = await this.models.ready();
      const setup = await this.setupFor(model.info);
      const userMessage = this.storage.appendUserMessage({ conversationId: original.conversationId, content: input.content, parentId: original.parentId });
      const started = this.answer(original.conversationId, userMessage, model.modelId, setup);
      this.events.emit('conversations.changed', { conversationId: original.conversationId, reason: 'messages' });
      return started;
    });
  }

  /**
   * The message the user answered, as their view showed it: the question attaches there (a
   * branch if another window has gone on since). A parent that no longer exists, or an empty
   * view of a conversation that has messages now, is refused: the view is stale.
   */
  private parentAsSeen(conversationId: string, parentId: string | null): string | null {
    if (parentId === null) {
      if (this.storage.loadActivePath(conversationId).messages.length > 0) throw new StaleViewError();
      return null;
    }
    let parent: Message;
    try {
      parent = this.storage.getMessage(parentId);
    } catch (error) {
      if (error instanceof StorageError && error.code === 'NOT_FOUND') throw new StaleViewError();
      throw error;
    }
    if (parent.conversationId !== conversationId || parent.status === 'streaming') throw new StaleViewError();
    return parent.id;
  }

  stop(input: { conversationId: string }): { stopped: boolean } {
    const active = this.active;
    if (!active || active.conversationId !== input.conversationId) return { stopped: false };
    active.stopRequested = true;
    active.generation?.cancel();
    return { stopped: true };
  }

  /**
   * Runs the start of an answer with the busy check and the busy mark in the same synchronous
   * step: two requests that arrive together give one answer and one busy error. The mark is
   * held until the answer is active (set synchronously by answer()) or the start failed.
   */
  private async exclusively<T>(start: () => Promise<T>): Promise<T> {
    if (this.active || this.starting) {
      throw new ModelHostError('busy', 'An answer is still being written: stop it or wait for it to finish');
    }
    if (this.otherUser()) throw new ModelHostError('busy', 'The model is answering a request from the API: wait for it to finish');
    this.starting = true;
    try {
      return await start();
    } finally {
      this.starting = false;
    }
  }

  /** Begins the answer under `question` and streams it; resolves once it has begun. */
  /** A new answer beside `messageId` that keeps its tokens before `index` and takes `tokenId` there (answer-start.ts). */
  branchFromToken(input: { messageId: string; index: number; tokenId: number }): Promise<GenerationStarted> {
    return this.startFrom(() => planBranch(this.storage, input));
  }

  /** The answer `messageId` goes on after its last token, in the same message (answer-start.ts). */
  continueAnswer(input: { messageId: string }): Promise<GenerationStarted> {
    return this.startFrom(() => planContinue(this.storage, input));
  }

  /**
   * The sampler view of token `index` of an answer: the model is fed the answer up to that
   * token again (the cache reused where it matches) and the stages run on its logits with the
   * sampling the answer was made with. Nothing is stored.
   */
  samplerStages(input: { messageId: string; index: number }): Promise<SamplerStage[]> {
    return this.exclusively(async () => {
      const { answer, answerPrefix, tokenId } = planStageView(this.storage, input);
      const model = await this.models.ready();
      checkSameModel(answer, model.modelId);
      const setup = await this.setupFor(model.info);
      const settings = this.settings.get();
      const { params, systemPrompt } = this.settingsFor(this.storage.getConversation(answer.conversationId), settings, setup.defaults);
      const made = seededSamplingParamsSchema.safeParse({ ...params, ...answer.sampling, maxNewTokens: 1 });
      let stages: SamplerStage[] = [];
      const generation = this.host.generate({
        messages: this.historyBefore(answer.conversationId, answer.id, systemPrompt),
        params: made.success ? made.data : { ...params, maxNewTokens: 1 },
        candidates: Math.max(settings.candidates, 5),
        answerPrefix,
        forceFirstToken: tokenId,
        stages: true,
        onToken: (event) => (stages = event.stages ?? stages),
      });
      await generation.done;
      return stages;
    });
  }

  /** The conversation the model saw before `messageId`: the system prompt, then the path up to it. */
  private historyBefore(conversationId: string, messageId: string, systemPrompt: string): ChatMessage[] {
    const history: ChatMessage[] = [];
    if (systemPrompt.trim()) history.push({ role: 'system', content: systemPrompt });
    for (const message of this.storage.loadActivePath(conversationId).messages) {
      if (message.id === messageId) break;
      if (message.content.length > 0) history.push({ role: message.role, content: message.content });
    }
    return history;
  }

  private startFrom(plan: () => PlannedStart): Promise<GenerationStarted> {
    return this.exclusively(async () => {
      const { conversationId, from, question, start } = plan();
      const model = await this.models.ready();
      checkSameModel(from, model.modelId);
      const started = this.answer(conversationId, question, model.modelId, await this.setupFor(model.info), start);
      this.events.emit('conversations.changed', { conversationId, reason: 'messages' });
      return started;
    });
  }

  private answer(conversationId: string, question: Message, modelId: string, setup: ModelSetup, start: AnswerStart = {}): SendStarted {
    let conversation = this.storage.getConversation(conversationId);
    // A conversation remembers the model it was last answered with, to offer it again later.
    if (conversation.modelId !== modelId) conversation = this.storage.updateConversationSettings(conversationId, { modelId });
    const settings = this.settings.get();
    const { params, systemPrompt } = this.settingsFor(conversation, settings, setup.defaults);
    // What the user sees must be stored: a token's event waits until its text is committed.
    const unshown: Array<EventPayload<'generation.token'>> = [];
    const showCommitted = (): void => {
      for (const event of unshown.splice(0)) this.events.emit('generation.token', event);
    };
    const writer =
      start.resume !== undefined
        ? this.storage.resumeAssistantMessage(start.resume, { onCommit: showCommitted })
        : this.storage.beginAssistantMessage({ conversationId, parentId: question.id, modelId, sampling: params, seed: params.seed ?? null }, { onCommit: showCommitted });
    const messageId = writer.messageId;
    unshown.push(...copyKeptTokens(writer, start, conversationId));

    const history = this.historyBefore(conversationId, messageId, systemPrompt);

    let resolveFinished!: () => void;
    const active: ActiveAnswer = {
      conversationId,
      messageId,
      generation: null,
      stopRequested: false,
      finished: new Promise<void>((resolve) => (resolveFinished = resolve)),
    };
    this.active = active;

    // Decided once per answer, not per token.
    const remote = isRemoteModel(modelId);
    let saidSomething = unshown.some((event) => event.text !== '');
    // A template that cannot render this conversation fails the answer with its own words,
    // before the host is asked (where it would fail in the template engine's).
    const templateError = templateFailure(setup, history);
    const generation = templateError ? failedGeneration(templateError) : this.host.generate({
      messages: history,
      params,
      candidates: settings.candidates,
      ...(start.answerPrefix ? { answerPrefix: start.answerPrefix } : {}),
      ...(start.forceFirstToken !== undefined ? { forceFirstToken: start.forceFirstToken } : {}),
      onPrefill: (event) =>
        this.events.emit('generation.prefill', {
          conversationId,
          messageId,
          promptTokens: event.promptTokens,
          cachedTokens: event.cachedTokens,
          droppedMessages: event.droppedMessages,
        }),
      onToken: (event) => {
        const { type: _type, requestId: _requestId, ...token } = event;
        unshown.push({ conversationId, messageId, ...token });
        if (event.text) saidSomething = true;
        // Every token goes into the record, a token with no text (part of a character) too;
        // it is shown once its batch is committed, like text.
        writer.append(event.text, recordedToken(event, remote));
      },
    });
    active.generation = generation;
    if (active.stopRequested) generation.cancel();

    generation.done
      .then((stats) => {
        const status = stats.stopReason === 'cancelled' ? 'interrupted' : 'complete';
        writer.finish({ status, stats: { ...stats, ...start.stats } });
        showCommitted();
        this.models.markHealthy();
        this.events.emit('generation.done', { conversationId, messageId, status, stats });
      })
      .catch((error: unknown) => {
        const failure = error instanceof ModelHostError ? error : new ModelHostError('generation_failed', String(error));
        const status = failedAnswerStatus(failure.code, saidSomething);
        try {
          writer.finish({ status, ...(status === 'error' ? { error: failure.message } : {}) });
        } catch {
          // The storage reports its own failure (e.g. corruption) on the next call.
        }
        this.events.emit('generation.error', { conversationId, messageId, status, code: failure.code, message: failure.message });
      })
      .finally(() => {
        if (this.active === active) this.active = null;
        resolveFinished();
      });

    return { conversationId, conversation, userMessage: question, assistantMessage: writer.message };
  }

  /**
   * What this answer samples with and its system prompt: the app's defaults < the model's own <
   * the conversation's preset < the conversation's overrides, with a seed picked when none is set.
   */
  private settingsFor(conversation: Conversation, settings: AppSettings, modelDefaults: ModelSamplingDefaults): { params: SeededSamplingParams; systemPrompt: string } {
    const preset = conversation.presetId === null ? null : (this.options.findPreset?.(conversation.presetId) ?? null);
    const layered = layerSettings({
      app: { sampling: settings.defaultSampling, systemPrompt: settings.defaultSystemPrompt },
      model: modelDefaults,
      preset,
      conversation: { sampling: conversation.sampling, systemPrompt: conversation.systemPrompt },
    });
    const parsed = seededSamplingParamsSchema.safeParse({ ...layered.sampling, seed: layered.seed ?? randomInt(0, SAMPLING_LIMITS.seed) });
    if (!parsed.success) throw new StorageError('INVALID_INPUT', `This conversation's sampling settings are invalid: ${parsed.error.issues[0]?.message ?? 'unknown problem'}`);
    return { params: parsed.data, systemPrompt: layered.systemPrompt };
  }
}

function templateFailure(setup: ModelSetup, history: readonly ChatMessage[]): ModelHostError | null {
  try {
    setup.checkTemplate(history);
    return null;
  } catch (error) {
    return error instanceof ModelHostError ? error : new ModelHostError('chat_template_invalid', String(error));
  }
}

/** A generation that never reached the host: it fails as one that did. */
function failedGeneration(error: ModelHostError): Generation {
  const done = Promise.reject(error);
  done.catch(() => undefined);
  return { requestId: 'not-started', done, cancel: () => undefined };
}
