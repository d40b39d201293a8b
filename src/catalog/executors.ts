import type { Config } from '../config/load-config.js';
import type { SmtpSettings } from './commands/email-send.js';
import type { PaymentWebhook } from './commands/payment-execute.js';
import type { RagSettings } from './commands/rag.js';
import type { YoutubeSettings } from './commands/youtube-search.js';
import { join } from 'node:path';
import type { OutboxLimits } from '../shares/share-store.js';

/** A YouTube search answers in well under this, or is retried. */
const YOUTUBE_TIMEOUT_MS = 15_000;

/** The outside systems the RED commands act on, as configured (absent when not). */
export function executorSettings(config: Config): {
  smtp?: SmtpSettings;
  payment?: PaymentWebhook;
  youtube: YoutubeSettings;
  rag: RagSettings;
  outbox: OutboxLimits;
} {
  return {
    outbox: outboxLimits(config),
    youtube: {
      baseUrl: config.YOUTUBE_BASE_URL,
      timeoutMs: YOUTUBE_TIMEOUT_MS,
      ...(config.YOUTUBE_API_KEY === undefined ? {} : { apiKey: config.YOUTUBE_API_KEY }),
      ...(config.YOUTUBE_DEFAULT_REGION === undefined ? {} : { defaultRegion: config.YOUTUBE_DEFAULT_REGION }),
      ...(config.YOUTUBE_DEFAULT_LANGUAGE === undefined ? {} : { defaultLanguage: config.YOUTUBE_DEFAULT_LANGUAGE }),
    },
    rag: {
      indexDir: join(config.dataDir, 'rag'),
      wholeFolderTenants: config.RAG_WHOLE_FOLDER_TENANTS,
      ...(config.RAG_AUTO_INGEST_PATH === undefined ? {} : { folder: config.RAG_AUTO_INGEST_PATH }),
    },
    ...(config.SMTP_HOST
      ? {
          smtp: {
            host: config.SMTP_HOST,
            port: config.SMTP_PORT,
            secure: config.SMTP_SECURE,
            from: config.SMTP_FROM,
            ...(config.SMTP_USER === undefined ? {} : { user: config.SMTP_USER }),
            ...(config.SMTP_PASSWORD === undefined ? {} : { password: config.SMTP_PASSWORD }),
          },
        }
      : {}),
    ...(config.PAYMENT_WEBHOOK_URL
      ? {
          payment: {
            url: config.PAYMENT_WEBHOOK_URL,
            timeoutMs: config.PAYMENT_TIMEOUT_SECONDS * 1000,
            ...(config.PAYMENT_WEBHOOK_SECRET === undefined ? {} : { secret: config.PAYMENT_WEBHOOK_SECRET }),
          },
        }
      : {}),
  };
}

/** How much of the outbox a tenant may use, and for how long exports stay. */
export function outboxLimits(config: Config): OutboxLimits {
  return {
    maxBytesPerTenant: config.OUTBOX_MAX_BYTES_PER_TENANT,
    retentionMs: config.OUTBOX_RETENTION_HOURS * 3_600_000,
  };
}
