import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInCatalog } from '../../src/catalog/built-in.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { youtubeSearch, type YoutubeSettings } from '../../src/catalog/commands/youtube-search.js';
import type { HandlerContext } from '../../src/catalog/define-command.js';
import { handlerContext } from '../support/handler-context.js';
import type { Tenant } from '../../src/events/tenant.js';
import { startTestNexus } from '../support/nexus.js';

const KEY = 'AIzaSy-test-key-not-real';
const tenant: Tenant = { org_id: 'yt', project_id: 'p' };

const thumbnails = (id: string) => ({
  default: { url: `https://i.ytimg.com/vi/${id}/default.jpg`, width: 120, height: 90 },
  medium: { url: `https://i.ytimg.com/vi/${id}/mqdefault.jpg`, width: 320, height: 180 },
  high: { url: `https://i.ytimg.com/vi/${id}/hqdefault.jpg`, width: 480, height: 360 },
});

/** A `search.list` answer as the API documents it (kind, etag, pageInfo, items with id and snippet). */
const searchListResponse = {
  kind: 'youtube#searchListResponse',
  etag: 'q4ibjmYp1KA3RqMF4jFLl6PBwOg',
  nextPageToken: 'CAIQAA',
  regionCode: 'KR',
  pageInfo: { totalResults: 1000000, resultsPerPage: 2 },
  items: [
    {
      kind: 'youtube#searchResult',
      etag: 'Ks-_Y2iNEgcnaBXnbY2iZ8ar0Ls',
      id: { kind: 'youtube#video', videoId: 'a1b2c3d4e5F' },
      snippet: {
        publishedAt: '2024-03-01T09:00:00Z',
        channelId: 'UC_x5XG1OV2P6uZZ5FSM9Ttw',
        title: 'Sourdough &amp; you: don&#39;t skip the autolyse',
        description: 'A starter, flour, water and salt.',
        thumbnails: thumbnails('a1b2c3d4e5F'),
        channelTitle: 'Bread Lab',
        liveBroadcastContent: 'none',
        publishTime: '2024-03-01T09:00:00Z',
      },
    },
    {
      kind: 'youtube#searchResult',
      etag: 'Zx9xk0VbJg1cHsXa3wHkVNqo5hU',
      id: { kind: 'youtube#video', videoId: 'Zz9Yy8Xx7Ww' },
      snippet: {
        publishedAt: '2023-11-20T18:30:00Z',
        channelId: 'UCnUYZLuoy1rq1aVMwx4aTzw',
        title: 'Shaping a batard',
        description: '',
        thumbnails: { default: thumbnails('Zz9Yy8Xx7Ww').default },
        channelTitle: 'Kitchen Notes',
        liveBroadcastContent: 'none',
        publishTime: '2023-11-20T18:30:00Z',
      },
    },
  ],
};

/** Google's error format, as the API answers a failed call. */
const googleError = (code: number, message: string, reason: string, domain = 'global') => ({
  error: { code, message, errors: [{ message, domain, reason }] },
});

/** How the fake API answers, by the `q` it gets. */
const behaviours: Record<string, { status: number; body: unknown }> = {
  'bad request': {
    status: 400,
    body: googleError(400, 'Request contains an invalid argument.', 'invalidRegionCode', 'youtube.parameter'),
  },
  'bad key': {
    status: 400,
    body: {
      error: {
        code: 400,
        message: 'API key not valid. Please pass a valid API key.',
        errors: [
          { message: 'API key not valid. Please pass a valid API key.', domain: 'global', reason: 'badRequest' },
        ],
        status: 'INVALID_ARGUMENT',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
        ],
      },
    },
  },
  'quota spent': {
    status: 403,
    body: googleError(
      403,
      'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.',
      'quotaExceeded',
      'youtube.quota',
    ),
  },
  forbidden: {
    status: 403,
    body: googleError(
      403,
      'YouTube Data API v3 has not been used in project 42 before or it is disabled.',
      'accessNotConfigured',
      'usageLimits',
    ),
  },
  'too many': { status: 429, body: googleError(429, 'Too many requests.', 'rateLimitExceeded') },
  'server error': { status: 500, body: googleError(500, 'Backend Error', 'backendError') },
  'not json': { status: 200, body: '<html>captive portal</html>' },
  'wrong shape': { status: 200, body: { kind: 'youtube#searchListResponse', items: 'none' } },
};

interface Seen {
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
}

let api: Server;
let baseUrl: string;
const seen: Seen[] = [];

beforeAll(async () => {
  api = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    seen.push({ url, headers: req.headers });
    const q = url.searchParams.get('q') ?? '';
    if (q === 'hang') return; // never answers: the handler's timeout must end it
    const behaviour =
      url.pathname === '/youtube/v3/search'
        ? (behaviours[q] ?? { status: 200, body: searchListResponse })
        : { status: 404, body: 'not found' };
    res.writeHead(behaviour.status, {
      'content-type': typeof behaviour.body === 'string' ? 'text/html' : 'application/json; charset=UTF-8',
    });
    res.end(typeof behaviour.body === 'string' ? behaviour.body : JSON.stringify(behaviour.body));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/youtube/v3`;
});
afterAll(async () => {
  api.closeAllConnections();
  await new Promise((resolve) => api.close(resolve));
});

const settings = (overrides: Partial<YoutubeSettings> = {}): YoutubeSettings => ({
  apiKey: KEY,
  baseUrl,
  defaultRegion: 'KR',
  defaultLanguage: 'ko',
  timeoutMs: 5_000,
  ...overrides,
});

function context(signal = new AbortController().signal): HandlerContext {
  return handlerContext({ tenant, signal });
}

/** Runs the command as NEXUS would: params through its schema, then the handler. */
async function run(params: Record<string, unknown>, overrides: Partial<YoutubeSettings> = {}, signal?: AbortSignal) {
  const command = youtubeSearch(settings(overrides));
  return command.handler!(command.params.parse(params), context(signal));
}

const lastRequest = () => seen.at(-1)!;

describe('youtube.search against a local YouTube Data API', () => {
  it('sends the key in x-goog-api-key only, with the defaults in the query string, and maps the videos', async () => {
    const result = await run({ query: 'sourdough bread' });
    const { url, headers } = lastRequest();
    expect(headers['x-goog-api-key']).toBe(KEY);
    expect(url.search).not.toContain(KEY);
    expect(url.searchParams.has('key')).toBe(false);
    expect(url.pathname).toBe('/youtube/v3/search');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      part: 'snippet',
      type: 'video',
      q: 'sourdough bread',
      maxResults: '10',
      regionCode: 'KR',
      relevanceLanguage: 'ko',
    });
    expect(result).toEqual({
      query: 'sourdough bread',
      next_page_token: 'CAIQAA',
      total_results: 1000000,
      videos: [
        {
          video_id: 'a1b2c3d4e5F',
          title: "Sourdough & you: don't skip the autolyse",
          description: 'A starter, flour, water and salt.',
          channel_id: 'UC_x5XG1OV2P6uZZ5FSM9Ttw',
          channel_title: 'Bread Lab',
          published_at: '2024-03-01T09:00:00Z',
          thumbnail_url: 'https://i.ytimg.com/vi/a1b2c3d4e5F/hqdefault.jpg',
          url: 'https://www.youtube.com/watch?v=a1b2c3d4e5F',
        },
        {
          video_id: 'Zz9Yy8Xx7Ww',
          title: 'Shaping a batard',
          description: '',
          channel_id: 'UCnUYZLuoy1rq1aVMwx4aTzw',
          channel_title: 'Kitchen Notes',
          published_at: '2023-11-20T18:30:00Z',
          thumbnail_url: 'https://i.ytimg.com/vi/Zz9Yy8Xx7Ww/default.jpg',
          url: 'https://www.youtube.com/watch?v=Zz9Yy8Xx7Ww',
        },
      ],
    });
  });

  it('lets the command override region, language and page size, and pass a page token', async () => {
    await run({ query: 'k-pop', max_results: 50, region: 'us', language: 'en', page_token: 'CAIQAA' });
    expect(Object.fromEntries(lastRequest().url.searchParams)).toMatchObject({
      q: 'k-pop',
      maxResults: '50',
      regionCode: 'US',
      relevanceLanguage: 'en',
      pageToken: 'CAIQAA',
    });
  });

  it('leaves regionCode and relevanceLanguage out when neither the command nor the settings give them', async () => {
    await run({ query: 'jazz' }, { defaultRegion: undefined, defaultLanguage: undefined });
    expect([...lastRequest().url.searchParams.keys()].sort()).toEqual(['maxResults', 'part', 'q', 'type']);
  });

  it('refuses params out of range at the schema', () => {
    const { params } = youtubeSearch(settings());
    expect(params.safeParse({ query: '' }).success).toBe(false);
    expect(params.safeParse({ query: 'x'.repeat(501) }).success).toBe(false);
    expect(params.safeParse({ query: 'x', max_results: 51 }).success).toBe(false);
    expect(params.safeParse({ query: 'x', max_results: 0 }).success).toBe(false);
    expect(params.safeParse({ query: 'x', region: 'KOR' }).success).toBe(false);
  });

  it.each([
    ['bad request', 'YOUTUBE_BAD_REQUEST', false],
    ['bad key', 'YOUTUBE_AUTH_ERROR', false],
    ['quota spent', 'YOUTUBE_QUOTA_EXCEEDED', true],
    ['forbidden', 'YOUTUBE_AUTH_ERROR', false],
    ['too many', 'YOUTUBE_UNAVAILABLE', true],
    ['server error', 'YOUTUBE_UNAVAILABLE', true],
    ['not json', 'YOUTUBE_BAD_RESPONSE', false],
    ['wrong shape', 'YOUTUBE_BAD_RESPONSE', false],
  ])('classifies "%s" as %s (retryable: %s)', async (query, code, retryable) => {
    await expect(run({ query })).rejects.toMatchObject({ name: 'TaskFailure', code, retryable });
    expect(lastRequest().url.searchParams.get('q')).toBe(query);
  });

  it('fails HANDLER_UNAVAILABLE without a key, and calls nothing', async () => {
    const before = seen.length;
    await expect(run({ query: 'anything' }, { apiKey: undefined })).rejects.toMatchObject({
      code: 'HANDLER_UNAVAILABLE',
      retryable: false,
    });
    expect(seen.length).toBe(before);
  });

  it('retries an API that does not answer in time, or cannot be reached', async () => {
    await expect(run({ query: 'hang' }, { timeoutMs: 100 })).rejects.toMatchObject({
      code: 'YOUTUBE_UNAVAILABLE',
      retryable: true,
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(run({ query: 'x' }, { baseUrl: `http://127.0.0.1:${port}/youtube/v3` })).rejects.toMatchObject({
      code: 'YOUTUBE_UNAVAILABLE',
      retryable: true,
    });
  });

  it("stops when the task's signal fires, with the signal's reason", async () => {
    const controller = new AbortController();
    const running = run({ query: 'hang' }, {}, controller.signal);
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
  });

  it('runs as a command of an embedded NEXUS and reports the videos in task_completed', async () => {
    const nexus = await startTestNexus(
      {},
      { catalog: (deps) => new Catalog([...builtInCatalog(deps).list(), youtubeSearch(settings())]) },
    );
    const client = await nexus.stream(tenant, { lastEventId: 0 });
    try {
      const response = await nexus.command(tenant, {
        command_type: 'youtube.search',
        params: { query: 'sourdough', max_results: 2 },
      });
      expect(response.status).toBe(202);
      const { command_id } = (await response.json()) as { command_id: string };
      const completed = () =>
        client.reports.find((r) => r.command_id === command_id && r.report_type === 'task_completed');
      await client.until(() => completed() !== undefined);
      const result = completed()!.payload.result as { videos: Array<{ video_id: string }> };
      expect(result.videos.map((v) => v.video_id)).toEqual(['a1b2c3d4e5F', 'Zz9Yy8Xx7Ww']);
      expect(lastRequest().headers['x-goog-api-key']).toBe(KEY);
      expect(lastRequest().url.searchParams.get('maxResults')).toBe('2');

      const refused = await nexus.command(tenant, {
        command_type: 'youtube.search',
        params: { query: 'x', max_results: 99 },
      });
      expect(refused.status).toBe(422);
    } finally {
      client.close();
      await nexus.stop();
    }
  });
});
