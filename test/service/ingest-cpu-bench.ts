// `node --import tsx test/service/ingest-cpu-bench.ts [--rounds N] [--chain]`: the service's own CPU per event in
// batches of 1,000, in-process (ingestEvents called directly, two batches at a time, 200 customers, no HTTP): the
// figure bench:ingest's `service` CPU holds minus HTTP and JSON parsing, steadier than rates on a shared machine since
// other processes' work does not count in it. `--chain`: the 200 customers are end users two resellers deep (20
// resellers under 2 distributors, bench:ingest's depth-3 case), every event rated at three levels. Run with
// `--cpu-prof` to see where it goes.
import { ingestEvents } from '../../service/src/domains/events/service.ts';
import { authenticateApiKey } from '../../service/src/domains/keys/service.ts';
import { exampleBook, rest, serviceDeps, setUpLlmCustomers, signUpTenant, startService } from './harness.ts';

const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 15;
const chain = process.argv.includes('--chain');
const customers = 200;

const harness = await startService({ now: '2026-03-20T00:00:00Z' });
try {
  const tenant = await signUpTenant(harness);
  const key = tenant.secretKey;
  await setUpLlmCustomers(harness, key, chain ? [] : Array.from({ length: customers }, (_, c) => `bench-${c}`));
  if (chain) {
    const call = async (method: string, path: string, body: unknown) => {
      const response = await rest(harness, method, path, { key, body });
      if (response.status >= 300) throw new Error(`${method} ${path}: HTTP ${response.status}`);
    };
    // A book prices a customer only if the customer's seller owns it (migration 080): each reseller its own copy.
    const customer = async (id: string, parent: string | null, book: string, owns: boolean) => {
      await call('POST', '/v1/customers', {
        external_id: id,
        currency: 'USD',
        ...(owns ? { is_reseller: true } : {}),
        ...(parent ? { parent_id: parent } : {}),
      });
      await call('PUT', `/v1/customers/${id}/price_book`, { price_book: book, effective_from: '2026-01-01T00:00:00Z' });
      if (owns) await call('POST', '/v1/price_books', { book: exampleBook(`llm-${id}`), owner_customer_id: id });
    };
    for (let d = 0; d < 2; d++) await customer(`dist-${d}`, null, 'llm', true);
    for (let r = 0; r < 20; r++) await customer(`res-${r}`, `dist-${r % 2}`, `llm-dist-${r % 2}`, true);
    for (let c = 0; c < customers; c++) await customer(`bench-${c}`, `res-${c % 20}`, `llm-res-${c % 20}`, false);
  }
  const deps = serviceDeps(harness);
  const actor = (await authenticateApiKey(deps, key))!;
  let sequence = 0;
  const batch = () =>
    Array.from({ length: 1000 }, (_, i) => ({
      transaction_id: `cpu-${sequence++}`,
      customer_id: `bench-${(sequence * 7) % customers}`,
      event_type: 'llm.completion',
      timestamp: `2026-03-1${i % 9}T${String(i % 24).padStart(2, '0')}:00:00Z`,
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000 + i, output_tokens: 10 + (i % 50) },
    }));
  // Warm up: the book compiled, the periods created, the code optimised.
  for (let i = 0; i < 3; i++) await ingestEvents(deps, actor, batch());
  if (chain) {
    // The case measures nothing if the events were not rated through their chains: each wrote two reseller levels.
    const [{ n }] = await harness.database.owner`
      select count(*)::int as n from events where tenant_id = ${tenant.tenantId} and json_array_length(chain) = 2`;
    if (n !== 3000) throw new Error(`${n} of 3,000 warm-up events rated through two reseller levels`);
  }
  const before = process.cpuUsage();
  const started = performance.now();
  for (let r = 0; r < rounds; r++) {
    const answers = await Promise.all([ingestEvents(deps, actor, batch()), ingestEvents(deps, actor, batch())]);
    for (const answer of answers) if (answer.accepted !== 1000) throw new Error(`accepted ${answer.accepted}`);
  }
  const cpu = process.cpuUsage(before);
  const events = rounds * 2000;
  console.log(
    JSON.stringify({
      benchmark: 'ingest-cpu',
      chain,
      events,
      service_cpu_us_per_event: Math.round((cpu.user + cpu.system) / events),
      events_per_second: Math.round(events / ((performance.now() - started) / 1000)),
      load_average: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(2))),
    }),
  );
} finally {
  await harness.close();
  await harness.database.drop();
}
