// Delivery of one email: by SMTP when SMTP_URL is set, else printed to the log (development).
import nodemailer from 'nodemailer';
import type { Logger } from './log.ts';

export interface Email {
  to: string;
  subject: string;
  body: string;
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
          subject: email.subject,
          body: email.body,
        });
      },
    };
  }
  const transport = nodemailer.createTransport(options.smtpUrl);
  return {
    send: async (email) => {
      await transport.sendMail({ from: options.from, to: email.to, subject: email.subject, text: email.body });
    },
  };
}
