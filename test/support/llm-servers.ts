import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// Local servers that speak the LLM vendors' wire formats (OpenAI chat completions, Anthropic
// messages, Gemini generateContent), so tests run the real client library over real HTTP.

/** What the next requests get: an answer, or a failure as the vendor would send it. */
export type Behaviour =
  | { kind: 'answer'; text: string; delayMs?: number }
  | { kind: 'status'; status: number }
  | { kind: 'hang' }
  | { kind: 'garbage' }
  | { kind: 'broken-stream'; text: string };

export interface VendorServer {
  readonly baseUrl: string;
  /** Bodies of the requests received, parsed. */
  readonly requests: Array<{ path: string; headers: IncomingMessage['headers']; body: Record<string, unknown> }>;
  behave(behaviour: Behaviour): void;
  close(): Promise<void>;
}

type Vendor = 'openai' | 'anthropic' | 'gemini';

const usage = { input: 11, output: 7 };

function answerBody(vendor: Vendor, text: string, model: string): unknown {
  switch (vendor) {
    case 'openai':
      return {
        id: 'chatcmpl-nexus',
        object: 'chat.completion',
        created: 1_764_000_000,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: usage.input,
          completion_tokens: usage.output,
          total_tokens: usage.input + usage.output,
        },
      };
    case 'anthropic':
      return {
        id: 'msg_nexus',
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: usage.input, output_tokens: usage.output },
      };
    case 'gemini':
      return {
        candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
        usageMetadata: {
          promptTokenCount: usage.input,
          candidatesTokenCount: usage.output,
          totalTokenCount: usage.input + usage.output,
        },
        modelVersion: model,
      };
  }
}

/** The answer as the vendor streams it (server-sent events), in pieces of a few characters. */
function streamEvents(vendor: Vendor, text: string, model: string): string[] {
  const pieces = text.match(/.{1,4}/gs) ?? [];
  const data = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
  switch (vendor) {
    case 'openai': {
      const chunk = (delta: object, finish: string | null, extra: object = {}) =>
        data({
          id: 'chatcmpl-nexus',
          object: 'chat.completion.chunk',
          created: 1_764_000_000,
          model,
          choices: [{ index: 0, delta, finish_reason: finish }],
          ...extra,
        });
      return [
        chunk({ role: 'assistant', content: '' }, null),
        ...pieces.map((piece) => chunk({ content: piece }, null)),
        chunk({}, 'stop'),
        data({
          id: 'chatcmpl-nexus',
          object: 'chat.completion.chunk',
          created: 1_764_000_000,
          model,
          choices: [],
          usage: {
            prompt_tokens: usage.input,
            completion_tokens: usage.output,
            total_tokens: usage.input + usage.output,
          },
        }),
        'data: [DONE]\n\n',
      ];
    }
    case 'anthropic': {
      const event = (type: string, value: object) => `event: ${type}\n${data({ type, ...value })}`;
      return [
        event('message_start', {
          message: {
            id: 'msg_nexus',
            type: 'message',
            role: 'assistant',
            model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: usage.input, output_tokens: 1 },
          },
        }),
        event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
        ...pieces.map((piece) =>
          event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }),
        ),
        event('content_block_stop', { index: 0 }),
        event('message_delta', {
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: usage.output },
        }),
        event('message_stop', {}),
      ];
    }
    case 'gemini':
      return pieces.map((piece, i) =>
        data({
          candidates: [
            {
              content: { parts: [{ text: piece }], role: 'model' },
              index: 0,
              ...(i === pieces.length - 1 ? { finishReason: 'STOP' } : {}),
            },
          ],
          usageMetadata: {
            promptTokenCount: usage.input,
            candidatesTokenCount: usage.output,
            totalTokenCount: usage.input + usage.output,
          },
        }),
      );
  }
}

function errorBody(vendor: Vendor, status: number): unknown {
  if (vendor === 'anthropic')
    return {
      type: 'error',
      error: {
        type: status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : 'api_error',
        message: `status ${status}`,
      },
    };
  if (vendor === 'gemini')
    return {
      error: { code: status, message: `status ${status}`, status: status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL' },
    };
  return {
    error: { message: `status ${status}`, type: status === 401 ? 'invalid_request_error' : 'server_error', code: null },
  };
}

export async function vendorServer(vendor: Vendor): Promise<VendorServer> {
  let behaviour: Behaviour = { kind: 'answer', text: 'hello from the model' };
  const requests: VendorServer['requests'] = [];
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer(async (request, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text || '{}') as Record<string, unknown>;
    requests.push({ path: request.url ?? '', headers: request.headers, body });
    const model = String(body.model ?? 'gemini-test');
    const streaming = body.stream === true || (request.url ?? '').includes(':streamGenerateContent');
    if (streaming && (behaviour.kind === 'answer' || behaviour.kind === 'broken-stream')) {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const events = streamEvents(vendor, behaviour.text, model);
      // broken: half the answer, then the connection drops
      for (const event of behaviour.kind === 'broken-stream' ? events.slice(0, Math.ceil(events.length / 2)) : events)
        response.write(event);
      return void (behaviour.kind === 'broken-stream' ? response.destroy() : response.end());
    }
    if (behaviour.kind === 'answer' && behaviour.delayMs)
      await new Promise((resolve) => setTimeout(resolve, behaviour.kind === 'answer' ? behaviour.delayMs : 0));
    switch (behaviour.kind) {
      case 'broken-stream':
      case 'answer':
        return void response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(answerBody(vendor, behaviour.text, model)));

      case 'status':
        return void response
          .writeHead(behaviour.status, { 'content-type': 'application/json' })
          .end(JSON.stringify(errorBody(vendor, behaviour.status)));
      case 'garbage':
        return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"this is": not json');
      case 'hang':
        hanging.add(response);
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const root = `http://127.0.0.1:${port}`;
  return {
    baseUrl: vendor === 'gemini' ? `${root}/v1beta` : `${root}/v1`,
    requests,
    behave: (next) => (behaviour = next),
    close: () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
