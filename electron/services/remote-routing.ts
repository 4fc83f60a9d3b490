// Remote models behind the same services as local ones: choosing one in the model picker
// (models.load) stops the local model host (its memory comes back) and makes the remote model
// the loaded one; the chat's generate() then goes to the remote engine. The chat service, the
// storage, search and stats do not know the difference.
import type { ModelStatus } from '../shared/chat-types.ts';
import type { LoadedModelInfo } from '../shared/model-host-protocol.ts';
import type { EventBus } from './event-bus.ts';
import { ModelHostClient, type GenerateOptions, type Generation, type SpawnHost } from './model-host-client.ts';
import { ModelService, type ModelServiceOptions, type ModelSource } from './model-service.ts';
import { generateRemote, type RemoteEndpoint, type RemoteOptions } from './remote-engine.ts';
import type { RemoteModelStore } from './remote-models.ts';

/** The model host client, except that while a remote model is chosen, answers come from it. */
export class RoutingHostClient extends ModelHostClient {
  /** Set by the model service: the remote endpoint in use, or null for the local host. */
  remoteEndpoint: () => RemoteEndpoint | null = () => null;

  constructor(
    spawn: SpawnHost,
    private readonly remoteOptions: RemoteOptions = {},
  ) {
    super(spawn);
  }

  override generate(options: GenerateOptions): Generation {
    const endpoint = this.remoteEndpoint();
    return endpoint ? generateRemote(endpoint, options, this.remoteOptions) : super.generate(options);
  }
}

/** What the status shows of a remote model (there is no local graph, file or memory to report). */
function remoteInfo(endpoint: RemoteEndpoint): LoadedModelInfo {
  return {
    modelDir: endpoint.baseUrl,
    dtype: 'fp32',
    device: 'cpu',
    contextLength: endpoint.contextLength ?? 1,
    vocabSize: 1,
    loadMs: 0,
    rssBytes: 0,
    modelFileBytes: 0,
    graph: { style: 'optimum', attentionOp: 'MatMul+Softmax', kvDtype: 'float32', logitsDtype: 'float32', externalData: false, inputs: [] },
  };
}

export class RoutingModelService extends ModelService {
  private remote: { modelId: string; endpoint: RemoteEndpoint & { name: string } } | null = null;

  constructor(
    routedHost: RoutingHostClient,
    source: ModelSource,
    private readonly bus: EventBus,
    options: ModelServiceOptions | undefined,
    private readonly remotes: RemoteModelStore,
  ) {
    super(routedHost, source, bus, options);
    routedHost.remoteEndpoint = () => this.remote?.endpoint ?? null;
  }

  /** The remote model chosen now, if any. */
  get remoteModelId(): string | null {
    return this.remote?.modelId ?? null;
  }

  override getStatus(): ModelStatus {
    const remote = this.remote;
    if (!remote) return super.getStatus();
    const { name, baseUrl, model } = remote.endpoint;
    return { state: 'ready', modelId: remote.modelId, progress: 100, info: remoteInfo(remote.endpoint), error: null, remote: { name, baseUrl, model } };
  }

  override async load(modelId: string): Promise<ModelStatus> {
    const endpoint = this.remotes.endpoint(modelId);
    if (!endpoint) {
      this.remote = null;
      return super.load(modelId);
    }
    // The local model's memory comes back: only one model is in use at a time.
    this.remote = null;
    await super.unload();
    this.remote = { modelId, endpoint };
    this.bus.emit('models.status', this.getStatus());
    return this.getStatus();
  }

  override async unload(): Promise<ModelStatus> {
    this.remote = null;
    return super.unload();
  }

  override async ready(): Promise<{ modelId: string; info: LoadedModelInfo }> {
    const remote = this.remote;
    if (remote) return { modelId: remote.modelId, info: remoteInfo(remote.endpoint) };
    return super.ready();
  }

  /** A removed remote model stops being the chosen one. */
  forget(modelId: string): void {
    if (this.remote?.modelId !== modelId) return;
    this.remote = null;
    this.bus.emit('models.status', this.getStatus());
  }

}
