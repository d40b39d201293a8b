import { z } from 'zod';
import { defineCommand, TaskFailure } from '../define-command.js';

/** The YouTube Data API v3: the `YOUTUBE_*` settings. */
export interface YoutubeSettings {
  /** Sent in the `x-goog-api-key` header, never in a URL. Absent: the command refuses to run. */
  readonly apiKey?: string;
  /** E.g. `https://www.googleapis.com/youtube/v3`. */
  readonly baseUrl: string;
  /** `regionCode` when the command gives none, e.g. `KR`. */
  readonly defaultRegion?: string;
  /** `relevanceLanguage` when the command gives none, e.g. `ko`. */
  readonly defaultLanguage?: string;
  readonly timeoutMs: number;
}

/** The part of a `search.list` answer the command reads; other fields are ignored. */
const searchListResponse = z.object({
  nextPageToken: z.string().optional(),
  pageInfo: z.object({ totalResults: z.number().optional() }).optional(),
  items: z.array(
    z.object({
      id: z.object({ kind: z.string().optional(), videoId: z.string().optional() }),
      snippet: z.object({
        publishedAt: z.string(),
        channelId: z.string(),
        title: z.string(),
        description: z.string().default(''),
        channelTitle: z.string().default(''),
        thumbnails: z.record(z.string(), z.object({ url: z.string() })).default({}),
      }),
    }),
  ),
});

/** Google's error body: `{ error: { code, message, errors: [{ reason }], details: [{ reason }] } }`. */
const googleError = z.object({
  error: z.object({
    message: z.string().optional(),
    errors: z.array(z.object({ reason: z.string().optional() })).optional(),
    details: z.array(z.object({ reason: z.string().optional() })).optional(),
  }),
});

/** 403 reasons that mean "the key is fine, its quota is spent" (`RATE_LIMIT_EXCEEDED` in the newer format). */
const quotaReasons = new Set(['quotaexceeded', 'dailylimitexceeded', 'ratelimitexceeded', 'userratelimitexceeded']);
/** Google answers a wrong key with 400 (`API key not valid`), not 401: it is still the key's fault. */
const keyReasons = new Set(['keyinvalid', 'apikeyinvalid', 'keyexpired', 'apikeyexpired']);

/**
 * GREEN: searches YouTube videos (Data API v3 `search.list`, 100 quota units a call) and
 * answers their ids, titles, channels and links. Without an API key it refuses to run.
 *
 * @example
 *   youtubeSearch({ apiKey: config.YOUTUBE_API_KEY, baseUrl: config.YOUTUBE_BASE_URL, timeoutMs: 15_000 })
 *   // params { query: 'sourdough', max_results: 5 } → { query, next_page_token, total_results, videos: [...] }
 */
export function youtubeSearch(settings: YoutubeSettings) {
  return defineCommand({
    type: 'youtube.search',
    risk: 'GREEN',
    description: 'Search YouTube videos (YouTube Data API v3 search.list)',
    params: z.object({
      query: z.string().min(1).max(500),
      max_results: z.number().int().min(1).max(50).default(10),
      region: z
        .string()
        .regex(/^[A-Za-z]{2}$/, 'must be a two-letter region code such as KR')
        .optional(),
      language: z.string().min(2).max(16).optional(),
      page_token: z.string().min(1).max(200).optional(),
    }),
    handler: async ({ query, max_results, region, language, page_token }, { signal }) => {
      if (!settings.apiKey)
        throw new TaskFailure('HANDLER_UNAVAILABLE', 'no YouTube API key is configured (YOUTUBE_API_KEY)');
      const url = new URL(`${settings.baseUrl.replace(/\/+$/, '')}/search`);
      url.searchParams.set('part', 'snippet');
      url.searchParams.set('type', 'video');
      url.searchParams.set('q', query);
      url.searchParams.set('maxResults', String(max_results));
      const regionCode = region ?? settings.defaultRegion;
      if (regionCode) url.searchParams.set('regionCode', regionCode.toUpperCase());
      const relevanceLanguage = language ?? settings.defaultLanguage;
      if (relevanceLanguage) url.searchParams.set('relevanceLanguage', relevanceLanguage);
      if (page_token) url.searchParams.set('pageToken', page_token);

      let status: number;
      let text: string;
      try {
        const response = await fetch(url, {
          headers: { accept: 'application/json', 'x-goog-api-key': settings.apiKey },
          signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutMs)]),
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        if (signal.aborted) throw error;
        throw new TaskFailure(
          'YOUTUBE_UNAVAILABLE',
          `the YouTube API did not answer: ${(error as Error).message}`,
          true,
        );
      }
      if (status < 200 || status >= 300) throw failureOf(status, text);
      return { query, ...videosOf(text) };
    },
  });
}

function failureOf(status: number, text: string): TaskFailure {
  const parsed = googleError.safeParse(parseJson(text));
  const error = parsed.success ? parsed.data.error : undefined;
  const reasons = [...(error?.errors ?? []), ...(error?.details ?? [])].map((e) =>
    (e.reason ?? '').replaceAll('_', '').toLowerCase(),
  );
  const detail = error?.message ?? text.slice(0, 300);
  if (status === 400 && reasons.some((r) => keyReasons.has(r)))
    return new TaskFailure('YOUTUBE_AUTH_ERROR', `the YouTube API refused the key: ${detail}`);
  if (status === 400) return new TaskFailure('YOUTUBE_BAD_REQUEST', `the YouTube API refused the request: ${detail}`);
  if (status === 401 || status === 403) {
    if (reasons.some((r) => quotaReasons.has(r)))
      return new TaskFailure('YOUTUBE_QUOTA_EXCEEDED', `the YouTube API quota is spent: ${detail}`, true);
    return new TaskFailure('YOUTUBE_AUTH_ERROR', `the YouTube API refused the key (${status}): ${detail}`);
  }
  if (status === 429 || status >= 500)
    return new TaskFailure('YOUTUBE_UNAVAILABLE', `the YouTube API answered ${status}: ${detail}`, true);
  return new TaskFailure('YOUTUBE_BAD_RESPONSE', `the YouTube API answered an unexpected ${status}: ${detail}`);
}

function videosOf(text: string) {
  const parsed = searchListResponse.safeParse(parseJson(text));
  if (!parsed.success)
    throw new TaskFailure('YOUTUBE_BAD_RESPONSE', `the YouTube API answered an unexpected body: ${text.slice(0, 300)}`);
  const { nextPageToken, pageInfo, items } = parsed.data;
  const videos = items.flatMap(({ id, snippet }) => {
    if (!id.videoId) return []; // type=video asks for videos only; anything else is skipped
    const { high, medium, default: small } = snippet.thumbnails;
    return [
      {
        video_id: id.videoId,
        title: decodeEntities(snippet.title),
        description: decodeEntities(snippet.description),
        channel_id: snippet.channelId,
        channel_title: decodeEntities(snippet.channelTitle),
        published_at: snippet.publishedAt,
        thumbnail_url: (high ?? medium ?? small)?.url ?? null,
        url: `https://www.youtube.com/watch?v=${encodeURIComponent(id.videoId)}`,
      },
    ];
  });
  return {
    ...(nextPageToken === undefined ? {} : { next_page_token: nextPageToken }),
    ...(pageInfo?.totalResults === undefined ? {} : { total_results: pageInfo.totalResults }),
    videos,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** search.list answers snippets HTML-escaped (`Rock &amp; Roll`, `don&#39;t`): agents want the text. */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (entity, body: string) => {
    if (body[0] !== '#') return named[body.toLowerCase()] ?? entity;
    const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
  });
}
