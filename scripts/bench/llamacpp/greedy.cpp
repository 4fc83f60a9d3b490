// Greedy decoding with llama.cpp from given token ids, for the bench's check that a GGUF file
// holds the same model as the ONNX file: same ids in F32 with a float32 KV cache.
//   greedy MODEL.gguf N_NEW THREADS ID ID ID ...   -> prints the N_NEW chosen ids, one line
// Built by scripts/bench/llamacpp/llamacpp.ts against the static libraries of the llama-bench build.
#include "llama.h"
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char ** argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL N_NEW THREADS ID...\n", argv[0]);
        return 2;
    }
    const int n_new = atoi(argv[2]);
    const int threads = atoi(argv[3]);
    std::vector<llama_token> prompt;
    for (int i = 4; i < argc; i++) prompt.push_back(atoi(argv[i]));

    llama_log_set([](ggml_log_level level, const char * text, void *) { if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr); }, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) (prompt.size() + n_new + 16);
    cp.n_batch = cp.n_ctx;
    cp.n_ubatch = cp.n_ctx;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "cannot create a context\n"); return 1; }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    std::vector<llama_token> next = prompt;
    for (int step = 0; step < n_new; step++) {
        if (llama_decode(ctx, llama_batch_get_one(next.data(), (int32_t) next.size())) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
        const float * logits = llama_get_logits_ith(ctx, -1);
        int best = 0;
        for (int i = 1; i < n_vocab; i++) if (logits[i] > logits[best]) best = i;
        printf(step ? " %d" : "%d", best);
        next.assign(1, best);
    }
    printf("\n");
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
