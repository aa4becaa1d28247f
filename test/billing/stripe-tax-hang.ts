// A billing tick run while Stripe Tax's calculation hangs: `meanwhile` runs with the call in flight (an event into
// the customer's period, which would wait for the period's lock if the tick held it across the call), and no
// transaction older than the call may be open then. Returns the index of the tick's first Stripe request.
import { expect } from 'vitest';
import type { Harness } from '../service/harness.ts';
import type { StripeDouble } from '../stripe/double.ts';
import type { FaultRequest } from '../stripe/faults.ts';
import { eventually } from '../wait.ts';
import type { Jobs } from './jobs-harness.ts';

export async function tickWhileStripeTaxHangs(
  context: { double: StripeDouble; harness: Harness; jobs: Jobs },
  meanwhile: () => Promise<void>,
  when?: (request: FaultRequest) => boolean,
): Promise<number> {
  const { double, harness, jobs } = context;
  let release!: () => void;
  double.faults.inject({
    kind: 'hang',
    path: '/v1/tax/calculations',
    ...(when ? { when } : {}),
    until: new Promise<void>((resolve) => (release = resolve)),
  });
  const sent = double.state.requests.length;
  const tick = jobs.tick();
  await eventually('the calculation is in flight', async () =>
    double.state.requests.slice(sent).some((r) => r.path === '/v1/tax/calculations' && r.status === 0),
  );
  const [{ now }] = await harness.database.owner`select now()`;
  await meanwhile();
  const open = await harness.database.owner`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and xact_start < ${now}`;
  expect(open[0].n).toBe(0);
  release();
  await tick;
  return sent;
}
