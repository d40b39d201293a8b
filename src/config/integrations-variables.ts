import { z } from 'zod';
import { flag, int, secret, variable, type Variable } from './variable.js';

/** The services built-in commands reach: SMTP, the payment webhook. */
export const integrationsVariables = {
  SMTP_HOST: variable(
    'OPTIONAL',
    z.string().min(1).optional(),
    'SMTP server for email.send. Unset: approved emails fail with HANDLER_UNAVAILABLE.',
  ),
  SMTP_PORT: variable('OPTIONAL', int(1, 65535, 587), 'SMTP port.', '587'),
  SMTP_SECURE: variable(
    'OPTIONAL',
    flag('false'),
    'true: TLS from the first byte (port 465); false: STARTTLS when the server offers it.',
    'false',
  ),
  SMTP_USER: variable('OPTIONAL', z.string().min(1).optional(), 'SMTP user, when the server wants one.'),
  SMTP_PASSWORD: variable('OPTIONAL', z.string().min(1).optional(), 'SMTP password.', '', 'secret'),
  SMTP_FROM: variable(
    'OPTIONAL',
    z.string().min(3).default('nexus@localhost'),
    'Sender of email.send messages.',
    'nexus@localhost',
  ),
  PAYMENT_WEBHOOK_URL: variable(
    'OPTIONAL',
    z.url().optional(),
    'Where payment.execute posts approved payments (with an Idempotency-Key). Unset: they fail with HANDLER_UNAVAILABLE.',
    '',
    'url',
  ),
  PAYMENT_WEBHOOK_SECRET: variable(
    'OPTIONAL',
    secret,
    'Signs each payment request body (HMAC-SHA256 hex in x-nexus-signature).',
    '',
    'secret',
  ),
  PAYMENT_TIMEOUT_SECONDS: variable(
    'ADVANCED',
    int(1, 600, 30),
    'How long the payment webhook may take to answer (then the attempt is retried).',
    '30',
  ),
} satisfies Record<string, Variable>;
