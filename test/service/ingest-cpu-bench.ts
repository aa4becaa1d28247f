// `node --import tsx test/service/ingest-cpu-bench.ts [--rounds N]`: the service's own CPU per event in batches of
// 1,000, in-process (ingestEvents called directly, two batches at a time, 200 customers, no HTTP): the figure
// bench:ingest's `service` CPU holds minus HTTP and JSON parsing, steadier than rates on a shared machine since other
// processes' work does not count in it. Run with `--cpu-prof` to see where it goes.
import { ingestEvents } from '../../service/src/domains/events/service.ts';
import { authenticateApiKey } from '../../service/src/domains/keys/service.ts';
import { silentLogger } from '../../service/src/platform/log.ts';
import { createMetrics } from '../../service/src/platform/metrics.ts';
import { exampleBook, rest, signUpTenant, startService } from './harness.ts';

const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 15;
const customers = 200;

const harness = await startService({ now: '2026-03-20T00:00:00Z' });
try {
  const tenant = await signUpTenant(harness);
  const key = tenant.secretKey;
  const setup: [string, string, unknown][] = [
    ['POST', '/v1/price_books', { book: exampleBook('llm') }],
    [
      'POST',
      '/v1/meters',
      {
        code: 'input_tokens',
        name: 'Input tokens',
        event_type: 'llm.completion',
        aggregation: 'sum',
        property: 'input_tokens',
        group_by: ['model'],
      },
    ],
    ['POST', '/v1/meters', { code: 'requests', name: 'Requests', event_type: 'llm.completion', aggregation: 'count' }],
  ];
  for (let c = 0; c < customers; c++) {
    setup.push(['POST', '/v1/customers', { external_id: `bench-${c}`, currency: 'USD' }]);
    setup.push([
      'PUT',
      `/v1/customers/bench-${c}/price_book`,
      { price_book: 'llm', effective_from: '2026-01-01T00:00:00Z' },
    ]);
  }
  for (const [method, path, body] of setup) {
    const response = await rest(harness, method, path, { key, body });
    if (response.status >= 300) throw new Error(`${method} ${path}: HTTP ${response.status}`);
  }
  const deps = {
    db: harness.database.app,
    clock: harness.clock,
    logger: silentLogger,
    metrics: createMetrics(),
    sessionTtlSeconds: 3600,
  };
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
