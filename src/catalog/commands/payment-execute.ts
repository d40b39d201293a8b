import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { defineCommand, TaskFailure } from '../define-command.js';

/** The payment provider's webhook: the `PAYMENT_WEBHOOK_*` settings. */
export interface PaymentWebhook {
  readonly url: string;
  /** Signs each body (HMAC-SHA256, hex) in `x-nexus-signature` when set. */
  readonly secret?: string;
  readonly timeoutMs: number;
}

/**
 * RED: asks the configured payment webhook to pay, once approved. The request carries an
 * `Idempotency-Key` made from the command id, the same on every attempt, so a task retried after
 * a timeout or a 5xx cannot pay twice at a provider that honours the key (a 409 for a key
 * already used counts as paid). Without a configured webhook it refuses to run.
 */
export function paymentExecute(webhook: PaymentWebhook | undefined) {
  return defineCommand({
    type: 'payment.execute',
    risk: 'RED',
    description: 'Execute a payment through the configured payment webhook',
    params: z.object({
      amount: z.number().positive(),
      currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO-4217 code such as EUR'),
      payee: z.string().min(1).max(200),
      reference: z.string().max(200).optional(),
    }),
    handler: async (params, { command_id, correlation_id, signal }) => {
      if (!webhook)
        throw new TaskFailure('HANDLER_UNAVAILABLE', 'no payment webhook is configured (PAYMENT_WEBHOOK_URL)');
      const body = JSON.stringify({ ...params, command_id, correlation_id });
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'idempotency-key': `nexus-${command_id}`,
        'x-correlation-id': correlation_id,
      };
      if (webhook.secret)
        headers['x-nexus-signature'] = createHmac('sha256', webhook.secret).update(body).digest('hex');
      let response: Response;
      try {
        response = await fetch(webhook.url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(webhook.timeoutMs)]),
        });
      } catch (error) {
        if (signal.aborted) throw error;
        throw new TaskFailure(
          'PAYMENT_UNREACHABLE',
          `the payment webhook did not answer: ${(error as Error).message}`,
          true,
        );
      }
      const text = (await response.text()).slice(0, 10_000);
      if (response.ok || response.status === 409) {
        return {
          status: response.status,
          idempotency_key: headers['idempotency-key'],
          ...(response.status === 409 ? { already_paid: true } : {}),
          response: parse(text),
        };
      }
      if (response.status >= 500 || response.status === 429) {
        throw new TaskFailure('PAYMENT_UPSTREAM_ERROR', `the payment webhook answered ${response.status}`, true);
      }
      throw new TaskFailure(
        'PAYMENT_REJECTED',
        `the payment webhook refused the payment (${response.status}): ${text.slice(0, 500)}`,
      );
    },
  });
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
