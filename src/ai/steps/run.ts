import type { ChatRequest } from '../protocols/types.js';
import { outputGuards } from '../output-guards.js';
import type { AiModelConfig } from '../../config/ai-schema.js';
import { estimateInput } from '../tokens.js';
import { UpstreamFailure } from '../upstream.js';
import { answerChat, embeddings } from './chat.js';
import { zero } from './settle.js';
import { streamChat } from './stream.js';
import type { AiTurn } from './turn.js';

/**
 * Dispatch: ties the upstream call to the client (it is aborted when the client goes away), runs
 * the operation, and settles the call at zero if no step did (it threw before counting).
 */
export async function run(t: AiTurn, model: AiModelConfig): Promise<void> {
  const { res, x, ac } = t;
  const onClose = () => {
    if (!res.writableFinished) ac.abort(new UpstreamFailure('aborted', 'client went away'));
  };
  res.on('close', onClose);
  x.abort = () => ac.abort(new UpstreamFailure('aborted', 'client went away'));
  x.upstreamStart = t.t0;
  try {
    if (t.st.kind === 'embeddings') return await embeddings(t, model);
    const chat = t.chat as ChatRequest;
    const estimate = estimateInput(chat);
    const guards = outputGuards(t.call.chain);
    if (chat.stream === true) return await streamChat(t, model, chat, estimate, guards);
    return await answerChat(t, model, chat, estimate, guards);
  } finally {
    res.off('close', onClose);
    x.upstreamMs = t.route.sh.clock.monotonic() - t.t0;
    if (!t.st.settled) zero(t.st, t.alias, t.provider);
  }
}
