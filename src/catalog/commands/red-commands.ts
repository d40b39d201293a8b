import { z } from 'zod';
import { defineCommand } from '../define-command.js';

// RED: these never run without an approval of their exact payload. Their executors (SMTP,
// the payment webhook) are not in this version: approved, their tasks end dead-lettered with
// HANDLER_UNAVAILABLE, and the audit shows it.

export const emailSend = defineCommand({
  type: 'email.send',
  risk: 'RED',
  description: 'Send an email over the configured SMTP server',
  params: z.object({
    to: z.union([z.email(), z.array(z.email()).min(1).max(50)]),
    subject: z.string().min(1).max(998),
    text: z.string().max(1_000_000),
    cc: z.array(z.email()).max(50).optional(),
  }),
});

export const paymentExecute = defineCommand({
  type: 'payment.execute',
  risk: 'RED',
  description: 'Execute a payment through the configured payment webhook',
  params: z.object({
    amount: z.number().positive(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO-4217 code such as EUR'),
    payee: z.string().min(1).max(200),
    reference: z.string().max(200).optional(),
  }),
});
