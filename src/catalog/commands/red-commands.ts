import { z } from 'zod';
import { defineCommand } from '../define-command.js';

// RED: these never run without an approval of their exact payload. Their executors
// (SMTP, share links, the payment webhook) are installed with the approval flow; until then a
// task of theirs cannot exist, because nothing approves an ask.

export const externalSharePrepare = defineCommand({
  type: 'external_share.prepare',
  risk: 'RED',
  description: 'Package data for an external recipient and issue an expiring share link',
  params: z.object({
    recipient: z.email(),
    files: z.array(z.string().min(1)).max(100).optional(),
    message: z.string().max(5000).optional(),
    expires_in_hours: z.number().int().positive().max(720).optional(),
  }),
});

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
