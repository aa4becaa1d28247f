// Delivery of one email: by SMTP when SMTP_URL is set, else printed to the log (development).
import nodemailer from 'nodemailer';
import type { Logger } from './log.ts';

export interface Email {
  to: string;
  subject: string;
  body: string;
  /** Shown as the sender's name; the address stays the service's own (`MAIL_FROM`), so nothing is spoofed. */
  fromName?: string;
  replyTo?: string;
  attachments?: { filename: string; contentType: string; content: Buffer }[];
}

/** `Name <address>` or a bare address: the address. */
function addressOf(from: string): string {
  return /<([^>]+)>/.exec(from)?.[1] ?? from.trim();
}

export interface Mailer {
  send(email: Email): Promise<void>;
}

export function createMailer(options: { smtpUrl?: string; from: string; logger: Logger }): Mailer {
  if (!options.smtpUrl) {
    return {
      send: async (email) => {
        options.logger.info('email (no SMTP_URL: printed, not sent)', {
          to: email.to,
          from_name: email.fromName,
          reply_to: email.replyTo,
          subject: email.subject,
          body: email.body,
          attachments: email.attachments?.map((a) => `${a.filename} (${a.content.length} bytes)`),
        });
      },
    };
  }
  const transport = nodemailer.createTransport(options.smtpUrl);
  return {
    send: async (email) => {
      await transport.sendMail({
        from: email.fromName ? { name: email.fromName, address: addressOf(options.from) } : options.from,
        replyTo: email.replyTo,
        to: email.to,
        subject: email.subject,
        text: email.body,
        attachments: email.attachments,
      });
    },
  };
}
