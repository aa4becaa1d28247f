// `node --import tsx test/service/ingest-cpu-bench.ts [--rounds N]`: the service's own CPU per event in batches of
// 1,000, in-process (ingestEvents called directly, two batches at a time, 200 customers, no HTTP): the figure
// bench:ingest's `service` CPU holds minus HTTP and JSON parsing, steadier than rates on a shared machine since other
// processes' work does not count in it. Run with `--cpu-prof` to see where it goes.
import { ingestEvents } from '../../service/src/domains/events/service.ts';
import { authenticateApiKey } from '../../service/src/domains/keys/service.ts';
import { serviceDeps, setUpLlmCustomers, signUpTenant, startService } from './harness.ts';

const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 15;
const customers = 200;

const harness = await startService({ now: '2026-03-20T00:00:00Z' });
try {
  const tenant = await signUpTenant(harness);
  const key = tenant.secretKey;
  await setUpLlmCustomers(
    harness,
    key,
    Array.from({ length: customers }, (_, c) => `bench-${c}`),
  );
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
