// First run: an API key to copy, curl and SDK snippets that use it, and a test event rated with its receipt.
import { useState } from 'react';
import { api, useApiMutation } from '../api.ts';
import { ReceiptPanel } from '../Receipt.tsx';
import { ensureStarterSetup, sampleEvent } from '../samples/starter.ts';
import { CopyButton, ErrorBanner, Money } from '../ui.tsx';

export default function FirstRun() {
  const createKey = useApiMutation(
    () => api.apiKeys.create.mutate({ kind: 'secret', name: 'First key', role: 'admin' }),
    ['apiKeys.list'],
  );
  const key = createKey.data?.secret ?? 'sk_...';
  const origin = location.origin;
  const curl = [
    `curl ${origin}/v1/events \\`,
    `  -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\`,
    `  -d '${JSON.stringify(sampleEvent('tx-1', new Date('2026-01-01T00:00:00Z')))}'`,
  ].join('\n');
  const sdk = [
    `import { TariffClient } from '@tariff/sdk';`,
    ``,
    `const tariff = new TariffClient({ baseUrl: '${origin}', apiKey: process.env.TARIFF_API_KEY });`,
    `const ack = await tariff.ingestEvents({ body: { events: [event] } });`,
  ].join('\n');
  return (
    <>
      <h1>First run</h1>
      <section className="card" aria-labelledby="key-title">
        <h2 id="key-title">1. Your API key</h2>
        {createKey.data ? (
          <>
            <p>Copy it now: it is shown only once.</p>
            <p className="secret">
              <code data-testid="api-key">{createKey.data.secret}</code> <CopyButton text={createKey.data.secret} />
            </p>
          </>
        ) : (
          <button type="button" onClick={() => createKey.mutate(undefined)} disabled={createKey.isPending}>
            Create an API key
          </button>
        )}
        <ErrorBanner error={createKey.error} />
      </section>
      <section className="card" aria-labelledby="snippets-title">
        <h2 id="snippets-title">2. Send usage from your backend</h2>
        <h3>curl</h3>
        <pre data-testid="curl-snippet">{curl}</pre>
        <CopyButton text={curl} label="Copy curl" />
        <h3>TypeScript SDK</h3>
        <pre>{sdk}</pre>
        <CopyButton text={sdk} label="Copy SDK snippet" />
      </section>
      <TestEvent />
    </>
  );
}

function TestEvent() {
  const [transactionId, setTransactionId] = useState<string>();
  const send = useApiMutation(async () => {
    await ensureStarterSetup(api);
    const id = `test-${Date.now().toString(36)}`;
    const ack = await api.events.ingest.mutate({ events: [sampleEvent(id)] });
    setTransactionId(id);
    return ack;
  }, ['customers.list', 'events.usage']);
  const outcome = send.data?.events[0];
  return (
    <section className="card" aria-labelledby="test-title">
      <h2 id="test-title">3. Send a test event</h2>
      <p>
        Rates one gpt-4o completion (1,200 input and 300 output tokens) for the customer <code>test-customer</code> on
        the starter price book, creating them if needed.
      </p>
      <button type="button" onClick={() => send.mutate(undefined)} disabled={send.isPending}>
        Send a test event
      </button>
      <ErrorBanner error={send.error} />
      {outcome ? (
        <div className="ack" data-testid="ack">
          <h3>Acknowledgement</h3>
          <dl className="facts">
            <dt>Status</dt>
            <dd data-testid="ack-status">{outcome.status}</dd>
            {outcome.status === 'accepted' ? (
              <>
                <dt>Charged</dt>
                <dd data-testid="ack-amount">
                  <Money amount={outcome.amount} currency={outcome.currency} />
                </dd>
                <dt>Period total</dt>
                <dd>
                  <Money amount={outcome.period_total} currency={outcome.currency} />
                </dd>
                <dt>Card</dt>
                <dd>{outcome.card}</dd>
              </>
            ) : null}
          </dl>
          <details>
            <summary>Raw answer</summary>
            <pre>{JSON.stringify(send.data, null, 2)}</pre>
          </details>
        </div>
      ) : null}
      {transactionId && outcome?.status === 'accepted' ? <ReceiptPanel transactionId={transactionId} /> : null}
    </section>
  );
}
