import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// Local servers that speak the LLM vendors' wire formats (OpenAI chat completions, Anthropic
// messages, Gemini generateContent), so tests run the real client library over real HTTP.

/** What the next requests get: an answer, or a failure as the vendor would send it. */
export type Behaviour = { kind: 'answer'; text: string } | { kind: 'status'; status: number } | { kind: 'hang' } | { kind: 'garbage' };

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
        usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
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
        usageMetadata: { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output },
        modelVersion: model,
      };
  }
}

function errorBody(vendor: Vendor, status: number): unknown {
  if (vendor === 'anthropic') return { type: 'error', error: { type: status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : 'api_error', message: `status ${status}` } };
  if (vendor === 'gemini') return { error: { code: status, message: `status ${status}`, status: status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL' } };
  return { error: { message: `status ${status}`, type: status === 401 ? 'invalid_request_error' : 'server_error', code: null } };
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
    switch (behaviour.kind) {
      case 'answer':
        return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answerBody(vendor, behaviour.text, model)));
      case 'status':
        return void response.writeHead(behaviour.status, { 'content-type': 'application/json' }).end(JSON.stringify(errorBody(vendor, behaviour.status)));
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
