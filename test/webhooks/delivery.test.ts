// Outgoing webhooks over the public API with the real pg-boss workers and a frozen clock: every notification
// becomes one message signed per Standard Webhooks (verified with the standardwebhooks package), delivered to
// each endpoint whose filter takes it; a receiver that is down and then up gets every message exactly once;
// back-off, 410, days of failures, rotation, retry, replay, test send, the log and address checks.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from '../billing/fixtures.ts';
import { startJobRunner, type Jobs } from '../billing/jobs-harness.ts';
import {
  exampleBook,
  rest,
  signUpTenant,
  startService,
  trpc,
  type Harness,
  type TenantFixture,
} from '../service/harness.ts';
import { startReceiver, verifyAt, type Receiver } from './receiver.ts';

process.env.WEBHOOK_ALLOW_PRIVATE = '1';
process.env.WEBHOOK_TIMEOUT_MS = '3000';

const minute = 60_000;
const day = 86_400_000;

describe('outgoing webhooks', () => {
  let harness: Harness;
  let tenant: TenantFixture;
  let api: ReturnType<typeof client>;
  let jobs: Jobs;
  let receiver: Receiver;

  /** Records notifications as the domains do (the outbox row); the trigger makes their messages. */
  const recordNotifications = async (
    type: string,
    count: number,
    payload: (i: number) => object = (i) => ({ n: i }),
  ) => {
    const now = harness.clock.now();
    const ids = Array.from({ length: count }, () => crypto.randomUUID());
    for (const [i, id] of ids.entries()) {
      await harness.database.owner`
        insert into notifications (tenant_id, id, type, subject_id, payload, created_at)
        values (${tenant.tenantId}, ${id}, ${type}, ${`subject-${id}`}, ${harness.database.owner.json(payload(i) as never)}, ${now})`;
    }
    return ids.map((id) => `msg_${id.replaceAll('-', '')}`);
  };
  const createEndpoint = async (path: string, extra: object = {}) =>
    api.ok('POST', '/v1/webhook_endpoints', { url: receiver.url + path, ...extra });
  const receivedAt = (path: string) => receiver.received.filter((r) => r.path === path);
  /** One message's delivery to an endpoint, paging through its deliveries (newest first). */
  const deliveryOf = async (endpointId: string, messageId: string) => {
    let after = '';
    for (;;) {
      const page = await api.ok('GET', `/v1/webhook_endpoints/${endpointId}/deliveries?limit=500${after}`);
      const found = page.data.find((d: any) => d.message_id === messageId);
      if (found) return found;
      expect(page.has_more, `a delivery of ${messageId} to ${endpointId}`).toBe(true);
      after = `&starting_after=${page.data.at(-1).message_id}`;
    }
  };

  beforeAll(async () => {
    harness = await startService({ now: new Date().toISOString() });
    tenant = await signUpTenant(harness);
    api = client(harness, tenant);
    jobs = await startJobRunner(harness);
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await jobs?.stop();
    await receiver?.close();
    await harness?.close();
  });

  it('refuses bad endpoints with a 400 naming the field, and private addresses unless allowed', async () => {
    const scheme = await api.call('POST', '/v1/webhook_endpoints', { url: 'ftp://example.com/hook' });
    expect(scheme.status).toBe(400);
    expect(scheme.body.error.details[0].field).toBe('url');
    const type = await api.call('POST', '/v1/webhook_endpoints', { url: receiver.url, event_types: ['invoice.nope'] });
    expect(type.status).toBe(400);
    expect(type.body.error.details[0].field).toBe('event_types.0');
    // Text PostgreSQL cannot store, or control characters in the URL: a 400 naming the field, never a 500.
    for (const [body, field] of [
      [{ url: receiver.url, description: 'ERP\u0000' }, 'description'],
      [{ url: `${receiver.url}/\ud800` }, 'url'],
      [{ url: `${receiver.url}/x\u0001` }, 'url'],
    ] as const) {
      const bad = await api.call('POST', '/v1/webhook_endpoints', body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.error.details.map((d: any) => d.field)).toContain(field);
    }
    const unknown = await api.call('POST', '/v1/webhook_endpoints', { url: receiver.url, secret: 'whsec_x' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details[0].field).toBe('secret');
    process.env.WEBHOOK_ALLOW_PRIVATE = '0';
    try {
      for (const url of [
        receiver.url,
        'http://localhost:9/x',
        'http://[::1]/x',
        'http://10.0.0.8/x',
        'http://169.254.169.254/latest',
      ]) {
        const privateUrl = await api.call('POST', '/v1/webhook_endpoints', { url });
        expect(privateUrl.status, url).toBe(400);
        expect(privateUrl.body.error).toMatchObject({ code: 'invalid_webhook_url', details: [{ field: 'url' }] });
      }
    } finally {
      process.env.WEBHOOK_ALLOW_PRIVATE = '1';
    }
    const missing = await api.call('GET', `/v1/webhook_endpoints/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    const badId = await api.call('GET', '/v1/webhook_endpoints/not-a-uuid');
    expect(badId.status).toBe(400);
    expect(badId.body.error.details[0].field).toBe('path.id');
  });

  it('shows the secret on creation only, by REST and tRPC, and keeps endpoints per tenant', async () => {
    const created = await createEndpoint('/secret-check', { description: 'ERP' });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const listed = await api.ok('GET', '/v1/webhook_endpoints');
    const fetched = await api.ok('GET', `/v1/webhook_endpoints/${created.id}`);
    expect(JSON.stringify([listed, fetched])).not.toContain(created.secret);
    expect(fetched).toMatchObject({
      url: `${receiver.url}/secret-check`,
      description: 'ERP',
      enabled: true,
      event_types: [],
    });
    const viaTrpc = await trpc(
      harness,
      'mutation',
      'webhooks.create',
      { url: `${receiver.url}/trpc`, event_types: ['webhook.test'] },
      tenant.session,
    );
    expect(viaTrpc.body.secret).toMatch(/^whsec_/);
    const trpcList = await trpc(harness, 'query', 'webhooks.list', undefined, tenant.session);
    expect(trpcList.body.data.map((e: any) => e.id)).toEqual(expect.arrayContaining([created.id, viaTrpc.body.id]));
    expect(JSON.stringify(trpcList.body)).not.toContain('whsec_');
    const other = await signUpTenant(harness);
    expect((await rest(harness, 'GET', `/v1/webhook_endpoints/${created.id}`, { key: other.secretKey })).status).toBe(
      404,
    );
    // Out of the way of the scenarios below.
    await api.ok('DELETE', `/v1/webhook_endpoints/${created.id}`);
    await api.ok('DELETE', `/v1/webhook_endpoints/${viaTrpc.body.id}`);
    expect((await api.call('GET', `/v1/webhook_endpoints/${created.id}`)).status).toBe(404);
  });

  it('delivers a real notification, signed, to each endpoint whose filter takes it, and logs the attempt', async () => {
    const all = await createEndpoint('/all');
    const onlyDisabled = await createEndpoint('/only-disabled', { event_types: ['webhook_endpoint.disabled'] });
    await api.ok('POST', '/v1/customers', { external_id: 'hooked-co', currency: 'USD' });
    const expiresAt = new Date(harness.clock.now().getTime() + 3 * day).toISOString();
    await api.ok('POST', '/v1/customers/hooked-co/credit_grants', {
      kind: 'prepaid',
      amount: '50',
      expires_at: expiresAt,
    });
    await jobs.tick(); // the notice
    await jobs.tick(); // its delivery
    const [delivery] = receivedAt('/all');
    expect(delivery).toBeDefined();
    expect(receivedAt('/only-disabled')).toEqual([]);
    const payload = verifyAt(all.secret, delivery, harness.clock.now()) as any;
    expect(payload).toMatchObject({
      type: 'credit_grant.expiring',
      data: { customer_id: 'hooked-co', balance: '50.000000000', expires_at: expiresAt },
    });
    expect(() => verifyAt(onlyDisabled.secret, delivery, harness.clock.now())).toThrow();
    expect(delivery.id).toMatch(/^msg_[0-9a-f]{32}$/);

    const deliveries = await api.ok('GET', `/v1/webhook_endpoints/${all.id}/deliveries`);
    expect(deliveries.data).toEqual([
      expect.objectContaining({
        message_id: delivery.id,
        event_type: 'credit_grant.expiring',
        status: 'succeeded',
        attempts: 1,
        last_status_code: 200,
      }),
    ]);
    const attempts = await api.ok('GET', `/v1/webhook_messages/${delivery.id}/attempts`);
    expect(attempts.data).toEqual([
      expect.objectContaining({
        endpoint_id: all.id,
        attempt: 1,
        trigger: 'scheduled',
        succeeded: true,
        status_code: 200,
        response_excerpt: '{"received":true,"status":200}',
        error: null,
      }),
    ]);
    expect(attempts.data[0].latency_ms).toBeGreaterThanOrEqual(0);
    const messages = await api.ok('GET', '/v1/webhook_messages?event_type=credit_grant.expiring');
    expect(messages.data[0]).toMatchObject({
      id: delivery.id,
      payload: { type: 'credit_grant.expiring' },
      deliveries: [{ endpoint_id: all.id, status: 'succeeded', attempts: 1 }],
    });

    // Another tick sends nothing again.
    await jobs.tick();
    expect(receivedAt('/all')).toHaveLength(1);
    await api.ok('PATCH', `/v1/webhook_endpoints/${all.id}`, { enabled: false });
    await api.ok('PATCH', `/v1/webhook_endpoints/${onlyDisabled.id}`, { enabled: false });
  });

  it('given a receiver down for a while, delivers every message once it is up: nothing lost, nothing twice under one id', async () => {
    const endpoint = await createEndpoint('/flaky');
    await receiver.down();
    const ids = await recordNotifications('credit_grant.expiring', 40);
    await jobs.tick();
    const pending = await api.ok('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries?status=pending&limit=500`);
    expect(pending.data).toHaveLength(40);
    expect(
      pending.data.every(
        (d: any) => d.attempts === 1 && d.last_status_code === null && /ECONNREFUSED/.test(d.last_error),
      ),
    ).toBe(true);
    // Retries while still down: the back-off grows (first retry 24-36 s, second 72-108 s).
    harness.clock.advance(minute);
    await jobs.tick();
    const second = await api.ok('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries?status=pending&limit=500`);
    expect(second.data.every((d: any) => d.attempts === 2)).toBe(true);
    const wait = Date.parse(second.data[0].next_attempt_at) - harness.clock.now().getTime();
    expect(wait).toBeGreaterThanOrEqual(72_000);
    expect(wait).toBeLessThanOrEqual(108_000);
    // Not due yet: a tick sends nothing.
    await receiver.up();
    await jobs.tick();
    expect(receivedAt('/flaky')).toHaveLength(0);
    harness.clock.advance(2 * minute);
    await jobs.tick();
    const got = receivedAt('/flaky');
    expect(new Set(got.map((r) => r.id))).toEqual(new Set(ids));
    expect(got).toHaveLength(ids.length);
    for (const request of got)
      expect(verifyAt(endpoint.secret, request, harness.clock.now())).toMatchObject({ type: 'credit_grant.expiring' });
    const done = await api.ok('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries?status=succeeded&limit=500`);
    expect(done.data).toHaveLength(40);
    expect(done.data.every((d: any) => d.attempts === 3)).toBe(true);
    const log = await api.ok('GET', `/v1/webhook_messages/${ids[0]}/attempts?endpoint_id=${endpoint.id}`);
    expect(log.data.map((a: any) => [a.attempt, a.succeeded])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    await api.ok('PATCH', `/v1/webhook_endpoints/${endpoint.id}`, { enabled: false });
  });

  it('retries on the back-off schedule for about three days, then gives up; days of failures disable the endpoint with a notification', async () => {
    const watcher = await createEndpoint('/watcher', { event_types: ['webhook_endpoint.disabled'] });
    const failing = await createEndpoint('/failing');
    receiver.statusOf.set('/failing', 500);
    const start = harness.clock.now();
    const test = await api.ok('POST', `/v1/webhook_endpoints/${failing.id}/test`, {});
    expect(test.attempt).toMatchObject({
      attempt: 1,
      trigger: 'manual',
      succeeded: false,
      status_code: 500,
      error: 'HTTP 500',
    });
    // The endpoint takes every type, so other notifications reach it while the clock crosses these days (the
    // first scenario's grant expires): the scenario follows its own message's delivery, step by step at the
    // instant the scheduler says it is due, until the schedule ends.
    let delivery = await deliveryOf(failing.id, test.message_id);
    expect(delivery).toMatchObject({ event_type: 'webhook.test', status: 'pending', attempts: 1 });
    while (delivery.status === 'pending') {
      // The schedule's 69 hours, each delay jittered by up to 20% either way: never due past 3.6 days.
      expect(Date.parse(delivery.next_attempt_at) - start.getTime()).toBeLessThan(3.6 * day);
      harness.clock.set(delivery.next_attempt_at);
      await jobs.tick();
      const previous = delivery.attempts;
      delivery = await deliveryOf(failing.id, test.message_id);
      expect(delivery.attempts, 'one attempt at each due instant').toBe(previous + 1);
    }
    expect(delivery).toMatchObject({ status: 'failed', attempts: 13, next_attempt_at: null });
    const span = harness.clock.now().getTime() - start.getTime();
    expect(span).toBeGreaterThan(2 * day);
    expect(span).toBeLessThan(3.6 * day);
    const own = receivedAt('/failing').filter((r) => r.id === test.message_id);
    expect(own).toHaveLength(13);
    for (const request of own)
      expect(verifyAt(failing.secret, request, new Date(Number(request.timestamp) * 1000))).toMatchObject({
        type: 'webhook.test',
      });
    // Whatever else reached it was other notifications' messages, none of them a test send.
    const others = receivedAt('/failing').filter((r) => r.id !== test.message_id);
    for (const request of others)
      expect(verifyAt(failing.secret, request, new Date(Number(request.timestamp) * 1000))).not.toMatchObject({
        type: 'webhook.test',
      });
    expect((await api.ok('GET', `/v1/webhook_endpoints/${failing.id}`)).enabled).toBe(true);

    // Five days after its first failure, with nothing delivered since: the next failure disables it.
    harness.clock.set(new Date(start.getTime() + 5 * day + minute));
    await api.ok('POST', `/v1/webhook_endpoints/${failing.id}/test`, {});
    const disabled = await api.ok('GET', `/v1/webhook_endpoints/${failing.id}`);
    expect(disabled).toMatchObject({ enabled: false, disabled_reason: 'failing', failing_since: start.toISOString() });
    const notices = await api.ok('GET', '/v1/notifications?type=webhook_endpoint.disabled');
    expect(notices.data).toEqual([
      expect.objectContaining({ payload: expect.objectContaining({ endpoint_id: failing.id, reason: 'failing' }) }),
    ]);
    await jobs.tick();
    const [told] = receivedAt('/watcher');
    expect(verifyAt(watcher.secret, told, harness.clock.now())).toMatchObject({
      type: 'webhook_endpoint.disabled',
      data: { endpoint_id: failing.id, reason: 'failing' },
    });
    // A disabled endpoint gets nothing more.
    const before = receivedAt('/failing').length;
    await recordNotifications('credit_grant.expiring', 1);
    harness.clock.advance(day);
    await jobs.tick();
    expect(receivedAt('/failing')).toHaveLength(before);
  });

  it('disables an endpoint whose scheduled deliveries failed for five days, with a notification', async () => {
    const watcher = await createEndpoint('/watcher-scheduled', { event_types: ['webhook_endpoint.disabled'] });
    const down = await createEndpoint('/down-for-days', { event_types: ['credit_grant.expiring'] });
    receiver.statusOf.set('/down-for-days', 503);
    const start = harness.clock.now();
    // A new message each day, every attempt of the delivery jobs failing: enabled while the streak is under five days.
    for (let days = 0; days <= 4; days++) {
      harness.clock.set(new Date(start.getTime() + days * day));
      await recordNotifications('credit_grant.expiring', 1);
      await jobs.tick();
      expect(await api.ok('GET', `/v1/webhook_endpoints/${down.id}`)).toMatchObject({
        enabled: true,
        failing_since: start.toISOString(),
      });
    }
    harness.clock.set(new Date(start.getTime() + 5 * day + minute));
    const [last] = await recordNotifications('credit_grant.expiring', 1);
    await jobs.tick();
    expect(await api.ok('GET', `/v1/webhook_endpoints/${down.id}`)).toMatchObject({
      enabled: false,
      disabled_reason: 'failing',
      failing_since: start.toISOString(),
    });
    expect((await api.ok('GET', `/v1/webhook_messages/${last}/attempts`)).data).toEqual([
      expect.objectContaining({ endpoint_id: down.id, trigger: 'scheduled', status_code: 503 }),
    ]);
    await jobs.tick();
    const told = receivedAt('/watcher-scheduled').map(
      (r) => verifyAt(watcher.secret, r, new Date(Number(r.timestamp) * 1000)) as any,
    );
    expect(told).toEqual([
      expect.objectContaining({
        type: 'webhook_endpoint.disabled',
        data: expect.objectContaining({ endpoint_id: down.id, reason: 'failing', last_status_code: 503 }),
      }),
    ]);
    await api.ok('PATCH', `/v1/webhook_endpoints/${watcher.id}`, { enabled: false });
  });

  it('given a 410, disables the endpoint at once; enabling it again resumes its pending deliveries', async () => {
    const gone = await createEndpoint('/gone');
    receiver.statusOf.set('/gone', 410);
    const [id] = await recordNotifications('credit_grant.expiring', 1);
    await jobs.tick();
    expect(await api.ok('GET', `/v1/webhook_endpoints/${gone.id}`)).toMatchObject({
      enabled: false,
      disabled_reason: 'gone',
    });
    const notices = await api.ok('GET', '/v1/notifications?type=webhook_endpoint.disabled');
    expect(
      notices.data.some(
        (n: any) =>
          n.payload.endpoint_id === gone.id && n.payload.reason === 'gone' && n.payload.last_status_code === 410,
      ),
    ).toBe(true);
    harness.clock.advance(day);
    await jobs.tick();
    expect(receivedAt('/gone')).toHaveLength(1);
    receiver.statusOf.delete('/gone');
    await api.ok('PATCH', `/v1/webhook_endpoints/${gone.id}`, { enabled: true });
    await jobs.tick();
    expect(receivedAt('/gone').map((r) => r.id)).toEqual([id, id]);
    expect((await api.ok('GET', `/v1/webhook_endpoints/${gone.id}/deliveries`)).data[0]).toMatchObject({
      message_id: id,
      status: 'succeeded',
      attempts: 2,
    });
    await api.ok('PATCH', `/v1/webhook_endpoints/${gone.id}`, { enabled: false });
  });

  it('signs with both secrets during a rotation overlap, with the new one only after it', async () => {
    const endpoint = await createEndpoint('/rotating', { event_types: ['webhook.test'] });
    const rotated = await api.ok('POST', `/v1/webhook_endpoints/${endpoint.id}/rotate_secret`, {
      overlap_seconds: 3600,
    });
    expect(rotated.secret).not.toBe(endpoint.secret);
    expect(rotated.previous_secret_expires_at).toBe(new Date(harness.clock.now().getTime() + 3600_000).toISOString());
    const during = await api.ok('POST', `/v1/webhook_endpoints/${endpoint.id}/test`, { payload: { hello: 'world' } });
    expect(during.attempt.succeeded).toBe(true);
    const [first] = receivedAt('/rotating');
    expect(first.id).toBe(during.message_id);
    expect(first.signature.split(' ')).toHaveLength(2);
    expect(verifyAt(endpoint.secret, first, harness.clock.now())).toEqual({
      type: 'webhook.test',
      timestamp: harness.clock.now().toISOString(),
      data: { hello: 'world' },
    });
    expect(verifyAt(rotated.secret, first, harness.clock.now())).toMatchObject({ data: { hello: 'world' } });
    harness.clock.advance(2 * 3600_000);
    await api.ok('POST', `/v1/webhook_endpoints/${endpoint.id}/test`, {});
    const second = receivedAt('/rotating')[1];
    expect(verifyAt(rotated.secret, second, harness.clock.now())).toMatchObject({ type: 'webhook.test' });
    expect(() => verifyAt(endpoint.secret, second, harness.clock.now())).toThrow();
    expect((await api.ok('GET', `/v1/webhook_endpoints/${endpoint.id}`)).previous_secret_expires_at).toBeNull();
    // The test payload is capped.
    const big = await api.call('POST', `/v1/webhook_endpoints/${endpoint.id}/test`, {
      payload: { blob: 'x'.repeat(70_000) },
    });
    expect(big.status).toBe(400);
    expect(big.body.error.details[0].field).toBe('payload');
    const badOverlap = await api.call('POST', `/v1/webhook_endpoints/${endpoint.id}/rotate_secret`, {
      overlap_seconds: -1,
    });
    expect(badOverlap.status).toBe(400);
    expect(badOverlap.body.error.details[0].field).toBe('overlap_seconds');
    await api.ok('PATCH', `/v1/webhook_endpoints/${endpoint.id}`, { enabled: false });
  });

  it('retries one message by hand under its webhook-id, and replays a time range to an endpoint', async () => {
    const endpoint = await createEndpoint('/replayed');
    harness.clock.advance(minute);
    const from = harness.clock.now();
    const ids = await recordNotifications('credit_grant.expiring', 3);
    await jobs.tick();
    expect(
      receivedAt('/replayed')
        .map((r) => r.id)
        .sort(),
    ).toEqual([...ids].sort());

    const retried = await api.ok('POST', `/v1/webhook_messages/${ids[0]}/retry`, { endpoint_id: endpoint.id });
    expect(retried).toMatchObject({
      message_id: ids[0],
      attempt: 2,
      trigger: 'manual',
      succeeded: true,
      status_code: 200,
    });
    expect(receivedAt('/replayed').filter((r) => r.id === ids[0])).toHaveLength(2);
    const badRetry = await api.call('POST', `/v1/webhook_messages/${ids[0]}/retry`, { endpoint_id: 'nope' });
    expect(badRetry.status).toBe(400);
    expect(badRetry.body.error.details[0].field).toBe('endpoint_id');
    expect(
      (await api.call('POST', `/v1/webhook_messages/msg_${'0'.repeat(32)}/retry`, { endpoint_id: endpoint.id })).status,
    ).toBe(404);

    // An endpoint created afterwards gets the range on replay, under the same ids; only what it never received.
    const late = await createEndpoint('/late');
    harness.clock.advance(minute);
    const replay = await api.ok('POST', `/v1/webhook_endpoints/${late.id}/replay`, {
      since: from.toISOString(),
      until: new Date(from.getTime() + 1).toISOString(),
    });
    expect(replay).toEqual({ queued: 3 });
    await jobs.tick();
    expect(
      receivedAt('/late')
        .map((r) => r.id)
        .sort(),
    ).toEqual([...ids].sort());
    for (const request of receivedAt('/late'))
      expect(verifyAt(late.secret, request, harness.clock.now())).toMatchObject({ type: 'credit_grant.expiring' });
    expect(
      await api.ok('POST', `/v1/webhook_endpoints/${late.id}/replay`, {
        since: from.toISOString(),
        until: new Date(from.getTime() + 1).toISOString(),
      }),
    ).toEqual({ queued: 0 });
    expect(
      await api.ok('POST', `/v1/webhook_endpoints/${late.id}/replay`, {
        since: from.toISOString(),
        until: new Date(from.getTime() + 1).toISOString(),
        include_succeeded: true,
      }),
    ).toEqual({ queued: 3 });
    const badRange = await api.call('POST', `/v1/webhook_endpoints/${late.id}/replay`, {
      since: from.toISOString(),
      until: from.toISOString(),
    });
    expect(badRange.status).toBe(400);
    expect(badRange.body.error.details[0].field).toBe('until');
    await jobs.tick();
    expect(receivedAt('/late')).toHaveLength(6);
    await api.ok('PATCH', `/v1/webhook_endpoints/${late.id}`, { enabled: false });
    await api.ok('PATCH', `/v1/webhook_endpoints/${endpoint.id}`, { enabled: false });
  });

  it('sends invoice.paid, invoice.voided and credit_note.issued as their invoices change', async () => {
    const endpoint = await createEndpoint('/invoices', {
      event_types: ['invoice.paid', 'invoice.voided', 'credit_note.issued'],
    });
    await api.ok('POST', '/v1/price_books', { book: exampleBook('hook-book') });
    await api.ok('POST', '/v1/plans', {
      code: 'hook-plan',
      name: 'Hooked',
      price_book: 'hook-book',
      interval: 'month',
      base_fee: '10',
    });
    const start = new Date(harness.clock.now());
    start.setUTCHours(0, 0, 0, 0);
    for (const customer of ['payer', 'voided']) {
      await api.ok('POST', '/v1/customers', { external_id: customer, currency: 'USD' });
      await api.ok('POST', `/v1/customers/${customer}/subscriptions`, {
        plan: 'hook-plan',
        started_at: start.toISOString(),
      });
    }
    harness.clock.set(new Date(start.getTime() + 40 * day));
    await jobs.tick();
    const invoiceOf = async (customer: string) =>
      (await api.ok('GET', `/v1/invoices?customer_id=${customer}`)).data.find((i: any) => i.status === 'finalized');
    const paid = await invoiceOf('payer');
    const voided = await invoiceOf('voided');
    expect(paid).toBeDefined();
    await api.ok('POST', `/v1/invoices/${paid.id}/pay`, {});
    await api.ok('POST', `/v1/invoices/${voided.id}/void`, { reason: 'duplicate' });
    const note = await api.ok('POST', `/v1/invoices/${paid.id}/credit_notes`, { reason: 'goodwill', amount: '1' });
    await jobs.tick();
    const bodies = receivedAt('/invoices').map((r) => verifyAt(endpoint.secret, r, harness.clock.now()) as any);
    expect(bodies.map((b) => b.type).sort()).toEqual(['credit_note.issued', 'invoice.paid', 'invoice.voided']);
    expect(bodies.find((b) => b.type === 'invoice.paid').data).toMatchObject({
      invoice_id: paid.id,
      number: paid.number,
      customer_id: 'payer',
      currency: 'USD',
      total: paid.total,
    });
    expect(bodies.find((b) => b.type === 'invoice.voided').data).toMatchObject({
      invoice_id: voided.id,
      customer_id: 'voided',
      reason: 'duplicate',
    });
    expect(bodies.find((b) => b.type === 'credit_note.issued').data).toMatchObject({
      credit_note_id: note.id,
      invoice_id: paid.id,
      total: '1.000000000',
      origin: 'manual',
    });
    await api.ok('PATCH', `/v1/webhook_endpoints/${endpoint.id}`, { enabled: false });
  });

  it('caps a notification body at 64 KiB, and checks the address again at every claim', async () => {
    const endpoint = await createEndpoint('/capped');
    const [bigId] = await recordNotifications('credit_grant.expiring', 1, () => ({ blob: 'y'.repeat(100_000) }));
    await jobs.tick();
    const [big] = receivedAt('/capped');
    expect(big.id).toBe(bigId);
    expect(big.body.length).toBeLessThan(1000);
    expect(verifyAt(endpoint.secret, big, harness.clock.now())).toMatchObject({
      type: 'credit_grant.expiring',
      data: { truncated: true },
    });

    process.env.WEBHOOK_ALLOW_PRIVATE = '0';
    try {
      const [blockedId] = await recordNotifications('credit_grant.expiring', 1);
      await jobs.tick();
      expect(receivedAt('/capped')).toHaveLength(1);
      const log = await api.ok('GET', `/v1/webhook_messages/${blockedId}/attempts`);
      expect(log.data[0]).toMatchObject({
        succeeded: false,
        status_code: null,
        error: expect.stringContaining('destination refused'),
      });
    } finally {
      process.env.WEBHOOK_ALLOW_PRIVATE = '1';
    }
  });
});
