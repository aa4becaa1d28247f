// "Why did this event cost that": the kernel's receipt, one numbered step per line, as the service stored it.
import { api, useApiQuery } from './api.ts';
import { ErrorBanner, Loading, Money, formatInstant } from './ui.tsx';

type Step = { step: string } & Record<string, unknown>;

const explain: Record<string, (s: Step) => string> = {
  variant: (s) => `matched variant ${s.variant}`,
  quantity: (s) => `charge ${s.charge}: ${s.quantity} of ${s.dimension}`,
  minimum: (s) => `charge ${s.charge}: minimum billable ${s.minimum}`,
  modifier: (s) => `charge ${s.charge}: ${s.source} multiplies by ${s.multiplier}`,
  allowance: (s) => `charge ${s.charge}: included allowance ${s.pool} covers ${s.covered} (${s.remaining} left)`,
  tier: (s) => `charge ${s.charge}: tier ${s.tier}, ${s.quantity} at ${s.rate}`,
  price: (s) => `charge ${s.charge}: ${s.model} price, ${s.quantity} at ${s.rate} per ${s.per} = ${s.amount}`,
  discount: (s) => `negotiated discount ${s.percent}% takes ${s.amount}`,
  commitment: (s) => `commitment (${s.mode}) covers ${s.amount}`,
  credit: (s) => `credit grant ${s.grant} (${s.kind}) covers ${s.amount}, balance ${s.balance}`,
  outcome: (s) => `outcome ${s.outcome}: ${s.note}`,
};

function describeStep(step: Step): string {
  const known = explain[step.step];
  if (known) return known(step);
  const { step: name, ...rest } = step;
  return `${name}: ${Object.entries(rest)
    .map(([key, value]) => `${key} ${String(value)}`)
    .join(', ')}`;
}

export function ReceiptSteps({ steps }: { steps: Step[] }) {
  return (
    <ol className="receipt">
      {steps.map((step, index) => (
        <li key={index} data-step={step.step}>
          <code>{step.step}</code> {describeStep(step)}
        </li>
      ))}
    </ol>
  );
}

export function ReceiptPanel({ transactionId }: { transactionId: string }) {
  const receipt = useApiQuery('events.receipt', { transaction_id: transactionId }, () =>
    api.events.receipt.query({ transaction_id: transactionId }),
  );
  if (receipt.isPending) return <Loading what="Loading the receipt" />;
  if (receipt.error) return <ErrorBanner error={receipt.error} />;
  const r = receipt.data;
  return (
    <section className="card" aria-label={`Receipt of ${r.transaction_id}`}>
      <h3>Receipt of {r.transaction_id}</h3>
      <dl className="facts">
        <dt>Customer</dt>
        <dd>{r.customer_id}</dd>
        <dt>Amount</dt>
        <dd data-testid="receipt-amount">
          <Money amount={r.amount} currency={r.currency} />
        </dd>
        <dt>Subtotal</dt>
        <dd>
          <Money amount={r.subtotal} currency={r.currency} />
        </dd>
        <dt>Cost / margin</dt>
        <dd>
          <Money amount={r.cost} currency={r.currency} /> / <Money amount={r.margin} currency={r.currency} />
        </dd>
        <dt>Price book</dt>
        <dd>
          {r.price_book} (version {formatInstant(r.book_version)}), card {r.card}
        </dd>
        <dt>Rated</dt>
        <dd>
          {formatInstant(r.rated_at)} by kernel {r.kernel_version}, revision {r.revision}
        </dd>
      </dl>
      <ReceiptSteps steps={r.receipt as Step[]} />
    </section>
  );
}
