// Re-ratings of a book: a retroactive version opens one, its preview (old and new amount per customer and
// period) is computed by a job, and nothing changes until someone approves it here.
import { api, useApiMutation, useApiQuery } from '../api.ts';
import { useCan } from '../layout.tsx';
import { ErrorBanner, Money, formatInstant } from '../ui.tsx';

export function ReratingsPanel({ code }: { code: string }) {
  const input = { price_book: code, limit: 5 };
  // The preview is computed in the background: ask again until none is pending.
  const list = useApiQuery('reratings.list', input, () => api.reratings.list.query(input), {
    refetchInterval: (query) =>
      query.state.data?.data.some((r) => r.status === 'pending' || r.status === 'approved') ? 2000 : false,
  });
  const approve = useApiMutation((id: string) => api.reratings.approve.mutate({ id }), ['reratings.list']);
  const can = useCan();
  const reratings = list.data?.data ?? [];
  if (reratings.length === 0) return null;
  return (
    <section className="card" aria-labelledby="reratings-title">
      <h2 id="reratings-title">Re-ratings</h2>
      <ErrorBanner error={list.error ?? approve.error} />
      {reratings.map((rerating) => (
        <div key={rerating.id} data-rerating={rerating.id} data-status={rerating.status}>
          <p>
            From {formatInstant(rerating.effective_from)}:{' '}
            <span className={`pill ${rerating.status}`}>{rerating.status}</span>
            {rerating.status === 'previewed' && can.bill ? (
              <>
                {' '}
                <button type="button" onClick={() => approve.mutate(rerating.id)} disabled={approve.isPending}>
                  Apply the re-rating
                </button>
              </>
            ) : null}
          </p>
          {rerating.preview ? (
            <table aria-label={`Re-rating preview from ${rerating.effective_from}`}>
              <thead>
                <tr>
                  <th scope="col">Customer</th>
                  <th scope="col" className="number">
                    Billed
                  </th>
                  <th scope="col" className="number">
                    Re-rated
                  </th>
                  <th scope="col" className="number">
                    Difference
                  </th>
                </tr>
              </thead>
              <tbody>
                {rerating.preview.customers.map((customer) => (
                  <tr key={customer.customer_id} data-customer={customer.customer_id}>
                    <td>{customer.customer_id}</td>
                    <td className="number">
                      <Money amount={customer.old_amount} currency={customer.currency} />
                    </td>
                    <td className="number" data-column="new">
                      <Money amount={customer.new_amount} currency={customer.currency} />
                    </td>
                    <td className="number" data-column="difference">
                      <Money amount={customer.difference} currency={customer.currency} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {rerating.error ? <p className="field-error">{rerating.error}</p> : null}
        </div>
      ))}
    </section>
  );
}
