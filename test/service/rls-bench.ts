// `node --import tsx test/service/rls-bench.ts [--rounds N]`: what row-level security costs ingestion's batch path
// in PostgreSQL (issue 16: "if row-level security is what stands between the design and the target, measure it").
// The statements one batch of 1,000 sends (the reads, the period lock, the one write) are caught as the service sends
// them, then replayed on one connection of the bench's own database, alternately as the service role with the
// tenant set (every policy applies) and as the database's owner (a superuser: no policy applies), the same statements
// with the same parameters, each replay in a transaction rolled back after deleting the batch's event rows (so the
// write inserts them again). Reports the backend's CPU per event (from /proc) and the time per event, median of the
// rounds. The service role itself is not altered.
import fs from 'node:fs';
import { ingestEvents } from '../../service/src/domains/events/service.ts';
import { authenticateApiKey } from '../../service/src/domains/keys/service.ts';
import { baseOptions, connect, deriveServiceUrl, SERVICE_ROLE } from '../../service/src/platform/db.ts';
import { cpuSeconds } from '../bench/cpu.ts';
import { serviceDeps, setUpLlmCustomers, signUpTenant, startService } from './harness.ts';

const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 20;
const customers = 200;
const batchSize = 1000;

const harness = await startService({ now: '2026-03-20T00:00:00Z' });
try {
  const tenant = await signUpTenant(harness);
  const key = tenant.secretKey;
  await setUpLlmCustomers(
    harness,
    key,
    Array.from({ length: customers }, (_, c) => `bench-${c}`),
  );

  let sent: { query: string; parameters: unknown[] }[] | undefined;
  const caught = connect({
    ...baseOptions,
    url: deriveServiceUrl(harness.database.url),
    max: 2,
    debug: (_connection, query, parameters) => void sent?.push({ query, parameters }),
  });
  const deps = serviceDeps(harness, caught);
  const actor = (await authenticateApiKey(deps, key))!;
  let sequence = 0;
  const batch = () =>
    Array.from({ length: batchSize }, (_, i) => ({
      transaction_id: `rls-${sequence++}`,
      customer_id: `bench-${sequence % customers}`,
      event_type: 'llm.completion',
      timestamp: `2026-03-1${i % 9}T${String(i % 24).padStart(2, '0')}:00:00Z`,
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000 + i, output_tokens: 10 + (i % 50) },
    }));
  // Some data first (the periods exist, the aggregates have rows to update), then the batch whose statements replay.
  for (let i = 0; i < 20; i++) await ingestEvents(deps, actor, batch());
  sent = [];
  const events = batch();
  const answer = await ingestEvents(deps, actor, events);
  if (answer.accepted !== batchSize) throw new Error(`accepted ${answer.accepted} of ${batchSize}`);
  const work = sent.filter((s) => !/^\s*(begin|commit|rollback)\s*$|set_config\(/i.test(s.query));
  sent = undefined;
  await caught.end({ timeout: 5 });
  const ids = events.map((e) => e.transaction_id);

  // One connection as the owner (a superuser), switched to the service role for the replays under RLS.
  const replayer = connect({ ...baseOptions, url: harness.database.url, max: 1 });
  const [{ pid }] = await replayer`select pg_backend_pid() as pid`;
  class Rollback extends Error {}
  async function replay(withRls: boolean): Promise<{ cpu: number; ms: number }> {
    const cpuBefore = cpuSeconds(pid);
    const started = performance.now();
    await replayer
      .begin(async (tx) => {
        await tx`delete from events where tenant_id = ${tenant.tenantId} and transaction_id = any(${ids})`;
        // The tenant set in both: only the role differs.
        await tx`select set_config('app.tenant_id', ${tenant.tenantId}, true)`;
        if (withRls) await tx`select set_config('role', ${SERVICE_ROLE}, true)`;
        for (const { query, parameters } of work) await tx.unsafe(query, parameters as never[], { prepare: true });
        throw new Rollback();
      })
      .catch((error) => {
        if (!(error instanceof Rollback)) throw error;
      });
    return { cpu: cpuSeconds(pid) - cpuBefore, ms: performance.now() - started };
  }
  // Warm both (plans, caches), then alternate.
  for (let i = 0; i < 3; i++) {
    await replay(true);
    await replay(false);
  }
  const results: Record<'with_rls' | 'without_rls', { cpu: number[]; ms: number[] }> = {
    with_rls: { cpu: [], ms: [] },
    without_rls: { cpu: [], ms: [] },
  };
  for (let r = 0; r < rounds; r++) {
    for (const withRls of r % 2 === 0 ? [true, false] : [false, true]) {
      const { cpu, ms } = await replay(withRls);
      const into = results[withRls ? 'with_rls' : 'without_rls'];
      into.cpu.push(cpu);
      into.ms.push(ms);
    }
  }
  await replayer.end({ timeout: 5 });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const perEvent = (kind: 'with_rls' | 'without_rls') => ({
    backend_cpu_us_per_event: Math.round((median(results[kind].cpu) * 1e6) / batchSize),
    time_us_per_event: Math.round((median(results[kind].ms) * 1e3) / batchSize),
  });
  const withRls = perEvent('with_rls');
  const withoutRls = perEvent('without_rls');
  console.log(
    JSON.stringify({
      benchmark: 'rls',
      batch_size: batchSize,
      statements: work.length,
      rounds,
      load_average: fs.existsSync('/proc/loadavg')
        ? fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3)
        : [],
      with_rls: withRls,
      without_rls: withoutRls,
      ratio_cpu_with_to_without: Number(
        (withRls.backend_cpu_us_per_event / withoutRls.backend_cpu_us_per_event).toFixed(3),
      ),
    }),
  );
} finally {
  await harness.close();
  await harness.database.drop();
}
