import type { Config } from '../config.js';
import type { SmtpSettings } from './commands/email-send.js';
import type { PaymentWebhook } from './commands/payment-execute.js';

/** The outside systems the RED commands act on, as configured (absent when not). */
export function executorSettings(config: Config): { smtp?: SmtpSettings; payment?: PaymentWebhook } {
  return {
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
