import { createTransport } from 'nodemailer';
import { z } from 'zod';
import { defineCommand, TaskFailure } from '../define-command.js';

/** Where mail goes out: the `SMTP_*` settings. */
export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  readonly secure: boolean;
  readonly user?: string;
  readonly password?: string;
  readonly from: string;
}

/** SMTP reply codes: 5xx is a refusal that retrying will not change; the rest may pass later. */
function failureOf(error: unknown): TaskFailure {
  const { responseCode, code, message } = error as { responseCode?: number; code?: string; message?: string };
  if (code === 'EAUTH')
    return new TaskFailure('SMTP_AUTH_ERROR', `the SMTP server refused the credentials: ${message}`);
  if (responseCode !== undefined && responseCode >= 500)
    return new TaskFailure('SMTP_REJECTED', `the SMTP server refused the message: ${message}`);
  return new TaskFailure('SMTP_UNAVAILABLE', `the SMTP server could not take the message: ${message ?? code}`, true);
}

/**
 * RED: sends one email over the configured SMTP server, once approved. The Message-ID is
 * derived from the command, so a resend after a lost outcome can be recognised downstream.
 */
export function emailSend(smtp: SmtpSettings | undefined) {
  const transport =
    smtp &&
    createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.user === undefined ? {} : { auth: { user: smtp.user, pass: smtp.password ?? '' } }),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  return defineCommand({
    type: 'email.send',
    risk: 'RED',
    description: 'Send an email over the configured SMTP server',
    params: z.object({
      to: z.union([z.email(), z.array(z.email()).min(1).max(50)]),
      subject: z.string().min(1).max(998),
      text: z.string().max(1_000_000),
      cc: z.array(z.email()).max(50).optional(),
    }),
    handler: async ({ to, subject, text, cc }, { command_id }) => {
      if (!transport || !smtp) throw new TaskFailure('HANDLER_UNAVAILABLE', 'no SMTP server is configured (SMTP_HOST)');
      try {
        const sent = await transport.sendMail({
          from: smtp.from,
          to,
          ...(cc === undefined ? {} : { cc }),
          subject,
          text,
          messageId: `<${command_id}@nexus>`,
        });
        return { message_id: sent.messageId, accepted: sent.accepted.map(String), rejected: sent.rejected.map(String) };
      } catch (error) {
        throw failureOf(error);
      }
    },
  });
}
