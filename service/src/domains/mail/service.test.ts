// The outbox against PostgreSQL: a failed delivery is recorded and retried by the job's work, a delivered mail's
// body is not kept; and the SMTP mailer speaks SMTP to a server (a minimal one, in this test).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../platform/clock.ts';
import { withTenant } from '../../platform/db.ts';
import type { Deps } from '../../platform/deps.ts';
import { silentLogger } from '../../platform/log.ts';
import { createMailer, type Email } from '../../platform/mail.ts';
import { createMetrics } from '../../platform/metrics.ts';
import { createTestDatabase, type TestDatabase } from '../../platform/test-database.ts';
import { deliverEmail, deliverPendingEmails, enqueueEmail } from './service.ts';

describe('email outbox', () => {
  let database: TestDatabase;
  const tenantId = '00000000-0000-4000-8000-0000000000aa';
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.owner`insert into tenants (tenant_id, name, created_at) values (${tenantId}, 'Mail', now())`;
  });
  afterAll(async () => {
    await database?.drop();
  });

  const depsWith = (send: (email: Email) => Promise<void>): Deps => ({
    db: database.app,
    clock: manualClock('2026-03-01T00:00:00Z'),
    logger: silentLogger,
    metrics: createMetrics(),
    sessionTtlSeconds: 3600,
    mailer: { send },
  });

  it('records a failed delivery, delivers it on retry, and keeps no body once delivered', async () => {
    const failing = depsWith(async () => {
      throw new Error('SMTP server said no');
    });
    const id = await withTenant(database.app, tenantId, (tx) =>
      enqueueEmail(tx, failing.clock, tenantId, { to: 'x@mail.example', subject: 'Reset', body: 'token rst_secret' }),
    );
    expect(await deliverEmail(failing, tenantId, id)).toBe(false);
    const [failed] =
      await database.owner`select attempts, last_error, sent_at, body from email_outbox where id = ${id}`;
    expect(failed).toMatchObject({
      attempts: 1,
      last_error: 'SMTP server said no',
      sent_at: null,
      body: 'token rst_secret',
    });

    const sent: Email[] = [];
    const working = depsWith(async (email) => void sent.push(email));
    expect(await deliverPendingEmails(working)).toBe(1);
    expect(sent).toEqual([{ to: 'x@mail.example', subject: 'Reset', body: 'token rst_secret' }]);
    const [delivered] =
      await database.owner`select attempts, last_error, sent_at, body from email_outbox where id = ${id}`;
    expect(delivered.attempts).toBe(2);
    expect(delivered.sent_at).not.toBeNull();
    expect(delivered.body).not.toContain('rst_secret');
    // Nothing left: a second run sends nothing again.
    expect(await deliverPendingEmails(working)).toBe(0);
    expect(sent).toHaveLength(1);
  });
});

describe('SMTP mailer', () => {
  it('sends the message to the SMTP server named by SMTP_URL', async () => {
    const received: { from?: string; to?: string; data: string } = { data: '' };
    const server = net.createServer((socket) => {
      let buffer = '';
      let inData = false;
      socket.write('220 test ESMTP\r\n');
      socket.on('data', (chunk) => {
        buffer += chunk.toString();
        let newline: number;
        while ((newline = buffer.indexOf('\r\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 2);
          if (inData) {
            if (line === '.') {
              inData = false;
              socket.write('250 queued\r\n');
            } else received.data += line + '\n';
            continue;
          }
          const command = line.slice(0, 4).toUpperCase();
          if (command === 'EHLO' || command === 'HELO') socket.write('250 test\r\n');
          else if (command === 'MAIL') ((received.from = line), socket.write('250 ok\r\n'));
          else if (command === 'RCPT') ((received.to = line), socket.write('250 ok\r\n'));
          else if (command === 'DATA') ((inData = true), socket.write('354 go on\r\n'));
          else if (command === 'QUIT') socket.end('221 bye\r\n');
          else socket.write('250 ok\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const mailer = createMailer({
        smtpUrl: `smtp://127.0.0.1:${port}?ignoreTLS=true`,
        from: 'Tariff <no-reply@tariff.test>',
        logger: silentLogger,
      });
      await mailer.send({ to: 'user@mail.example', subject: 'Confirm your email', body: 'vfy_token here' });
      expect(received.from).toContain('no-reply@tariff.test');
      expect(received.to).toContain('user@mail.example');
      expect(received.data).toContain('Subject: Confirm your email');
      expect(received.data).toContain('vfy_token here');
    } finally {
      server.close();
    }
  });
});
