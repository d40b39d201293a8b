import type { EventStore } from '../store/event-store.js';
import { Catalog } from './catalog.js';
import { dataExport } from './commands/data-export.js';
import { echoTest } from './commands/echo-test.js';
import { fileDelete } from './commands/file-delete.js';
import { memoryDeleteCommand, memorySetCommand } from './commands/memory.js';
import { externalSharePrepare } from './commands/external-share.js';
import { emailSend, type SmtpSettings } from './commands/email-send.js';
import { paymentExecute, type PaymentWebhook } from './commands/payment-execute.js';
import { llmComplete, llmExtract } from './commands/llm.js';
import { ragIngest, ragQuery, type RagSettings } from './commands/rag.js';
import { youtubeSearch, type YoutubeSettings } from './commands/youtube-search.js';
import type { OutboxLimits, ShareStore } from '../shares/share-store.js';

export interface BuiltInDeps {
  readonly store: EventStore;
  readonly workspaceDir: string;
  readonly outboxDir: string;
  readonly shares: ShareStore;
  /** How share links address NEXUS from outside (known once it listens). */
  readonly publicUrl: () => string;
  readonly now: () => Date;
  /** Where `email.send` sends; absent: its tasks fail with HANDLER_UNAVAILABLE. */
  readonly smtp?: SmtpSettings;
  /** Where `payment.execute` pays; absent: its tasks fail with HANDLER_UNAVAILABLE. */
  readonly payment?: PaymentWebhook;
  /** `youtube.search`'s API settings; without a key it fails with HANDLER_UNAVAILABLE. */
  readonly youtube: YoutubeSettings;
  /** Where `rag.ingest` reads and the per-tenant indexes live. */
  readonly rag: RagSettings;
  /** How much of the outbox each tenant may use (`data.export`, `external_share.prepare`). */
  readonly outbox: OutboxLimits;
}

/** The command types NEXUS ships with, risk levels as the seed set them. */
export function builtInCatalog(deps: BuiltInDeps): Catalog {
  return new Catalog([
    echoTest,
    memorySetCommand,
    memoryDeleteCommand,
    fileDelete(deps.workspaceDir),
    dataExport(deps),
    externalSharePrepare(deps),
    emailSend(deps.smtp),
    paymentExecute(deps.payment),
    llmComplete,
    llmExtract,
    youtubeSearch(deps.youtube),
    ragIngest(deps.rag),
    ragQuery(deps.rag),
  ]);
}
