// Crash safety of delivery: the service process (`node service/src/main.ts`, its own pg-boss workers and cron) is
// SIGKILLed while it delivers a backlog to a slow receiver, then started again. Every message must arrive, signed;
// a message may arrive twice (at least once) but only under its one webhook-id, and every delivery ends succeeded.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../service/src/platform/test-database.ts';
import { startServiceProcess, type ServiceProcess } from '../service/process.ts';
import { eventually } from '../wait.ts';
import { startReceiver, verifyAt, type Receiver } from './receiver.ts';

const env = { WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_TIMEOUT_MS: '2000' };

describe('webhook delivery across a SIGKILL', () => {
  let database: TestDatabase;
  let service: ServiceProcess | undefined;
  let receiver: Receiver;

  beforeAll(async () => {
    database = await createTestDatabase();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await receiver?.close();
    await database?.drop();
  });

  it(
    'given a kill mid-delivery and a restart, delivers every message, duplicates only under the same webhook-id',
    { timeout: 300_000 },
    async () => {
      service = await startServiceProcess(database.url, env);
      const apiKey = service.demoKey!;
      const created = await fetch(`${service.url}/v1/webhook_endpoints`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${receiver.url}/crash` }),
      });
      expect(created.status).toBe(201);
      const endpoint = (await created.json()) as { id: string; secret: string };
      const [{ tenant_id: tenantId }] =
        await database.owner`select tenant_id from webhook_endpoints where id = ${endpoint.id}`;

      // A backlog of notifications recorded at once, as the period close records a batch's (their trigger makes the
      // messages and deliveries): the running dispatcher cannot start on part of it, so the kill lands mid-backlog.
      const total = 300;
      const notificationIds = Array.from({ length: total }, () => crypto.randomUUID());
      const ids = notificationIds.map((id) => `msg_${id.replaceAll('-', '')}`);
      await database.owner`
      insert into notifications (tenant_id, id, type, subject_id, payload, created_at)
      select ${tenantId}, n.id, 'credit_grant.expiring', 'crash-' || n.i, jsonb_build_object('n', n.i - 1), ${new Date()}
      from unnest(${notificationIds}::uuid[]) with ordinality as n(id, i)`;
      // Slow answers keep attempts in flight; the billing tick (cron, every minute) starts the delivery jobs.
      receiver.delayMs = 150;
      const deadline = Date.now() + 150_000;
      while (receiver.received.length < 40) {
        if (Date.now() > deadline) throw new Error(`only ${receiver.received.length} deliveries before the kill`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      service.child.kill('SIGKILL');
      await new Promise((resolve) =>
        service!.child.exitCode !== null || service!.child.signalCode !== null
          ? resolve(null)
          : service!.child.once('exit', resolve),
      );
      const beforeKill = new Set(receiver.received.map((r) => r.id)).size;
      expect(beforeKill).toBeLessThan(total);
      // The kill landed mid-delivery: the endpoint leased by the dead worker, deliveries still pending (those it
      // sent and never recorded among them).
      const [{ leased, pending }] = await database.owner`
      select e.lease_until > now() as leased,
        (select count(*)::int from webhook_deliveries d where d.endpoint_id = e.id and d.status = 'pending') as pending
      from webhook_endpoints e where e.id = ${endpoint.id}`;
      expect(leased).toBe(true);
      expect(pending).toBeGreaterThan(0);

      receiver.delayMs = 0;
      service = await startServiceProcess(database.url, env);
      const after = Date.now() + 200_000;
      while (new Set(receiver.received.map((r) => r.id)).size < total) {
        if (Date.now() > after)
          throw new Error(
            `only ${new Set(receiver.received.map((r) => r.id)).size} of ${total} messages delivered after the restart`,
          );
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      // Deliveries the dead worker sent but never recorded are sent again once its lease lapses: wait for every
      // delivery to end succeeded before counting.
      await eventually(
        'every delivery succeeded',
        async () => {
          const [{ open }] =
            await database.owner`select count(*)::int as open from webhook_deliveries where endpoint_id = ${endpoint.id} and status <> 'succeeded'`;
          return open === 0;
        },
        { limitMs: 200_000, intervalMs: 200 },
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));

      const received = receiver.received;
      expect(new Set(received.map((r) => r.id))).toEqual(new Set(ids));
      // At least once: the repeats are of messages in flight at the kill, each under its own id, with the same body.
      const bodies = new Map<string, string>();
      for (const request of received) {
        expect(verifyAt(endpoint.secret, request, new Date(Number(request.timestamp) * 1000))).toMatchObject({
          type: 'credit_grant.expiring',
        });
        if (bodies.has(request.id)) expect(request.body).toBe(bodies.get(request.id));
        bodies.set(request.id, request.body);
      }
      const repeats = received.length - total;
      expect(repeats).toBeGreaterThanOrEqual(0);
      // At most the outcomes not yet recorded at the kill: a batch (256 at 16 in flight) and the attempts in flight.
      expect(repeats).toBeLessThanOrEqual(256 + 16);
      const states =
        await database.owner`select status, count(*)::int as n from webhook_deliveries where endpoint_id = ${endpoint.id} group by status`;
      expect(states).toEqual([{ status: 'succeeded', n: total }]);
    },
  );
});
