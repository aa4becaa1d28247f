// The `tariff` command line: rate and estimate events locally with the wasm kernel, validate books, import price
// lists, send usage to a Tariff service.
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type PriceBook, type StateMap, type UsageEvent, compileBook } from '@tariff/core-wasm';
import { loadKernel, wasmBytes } from '@tariff/core-wasm/node';
import { TariffClient, TariffError } from './client.ts';
import { Estimator } from './estimator.ts';
import { EventSender, SenderCloseTimeoutError, type UsageEvent as WireEvent } from './sender.ts';

const USAGE = `usage:
  tariff rate --price-book BOOK.json --events EVENTS.jsonl [--state STATE.json] [--state-out FILE]
  tariff estimate --price-book BOOK.json (--event EVENT.json|'{...}' | --events EVENTS.jsonl|-) [--state STATE.json]
                  [--check [--budget AMOUNT] [--spend CUSTOMER=AMOUNT ...]] [--update-state [--state-out FILE]]
  tariff send --url URL [--api-key KEY] [FILE.jsonl|-] [--batch-size N] [--max-buffer N] [--concurrency N] [--timeout SECONDS]
              (the key may come from TARIFF_API_KEY)
  tariff usage CUSTOMER --url URL [--api-key KEY] [--at INSTANT] [--json]
              (the current period's usage by meter and group; --at picks the period holding that instant)
  tariff validate --price-book BOOK.json
  tariff import-prices --format genai-prices FILE [--out BOOK.json]`;

class UsageError extends Error {}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function compileOrExit(path: string) {
  const compiled = compileBook(readJson(path, 'price book'));
  if (!compiled.ok) {
    throw new UsageError(`price book ${path} is invalid:\n${compiled.errors.map((e) => `  ${e.path || '(root)'}: ${e.message}`).join('\n')}`);
  }
  return compiled.book;
}

async function rateCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { 'price-book': { type: 'string' }, events: { type: 'string' }, state: { type: 'string' }, 'state-out': { type: 'string' } } });
  if (!values['price-book'] || !values.events) throw new UsageError(USAGE);
  const book = compileOrExit(values['price-book']);
  const states = (values.state ? readJson(values.state, 'state') : {}) as StateMap;
  const lines = readFileSync(values.events === '-' ? 0 : values.events, 'utf8').split('\n');
  const events: UsageEvent[] = [];
  const out: string[] = [];
  const flush = async () => {
    if (events.length === 0) return;
    const kernel = await kernelPromise;
    const rated = kernel.rate(book, currentStates, events);
    currentStates = rated.states;
    for (const result of rated.results) out.push(JSON.stringify(result));
    events.length = 0;
  };
  const kernelPromise = loadKernel();
  let currentStates = states;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    try {
      events.push(JSON.parse(line));
    } catch (error) {
      await flush();
      out.push(JSON.stringify({ line: i + 1, status: 'error', error: { code: 'invalid_json', message: (error as Error).message } }));
    }
    if (events.length >= 10_000) await flush();
    if (out.length >= 10_000) process.stdout.write(out.splice(0).join('\n') + '\n');
  }
  await flush();
  if (out.length) process.stdout.write(out.join('\n') + '\n');
  if (values['state-out']) writeFileSync(values['state-out'], JSON.stringify(currentStates, null, 2) + '\n');
}

function validateCommand(args: string[]): void {
  const { values } = parseArgs({ args, options: { 'price-book': { type: 'string' } } });
  if (!values['price-book']) throw new UsageError(USAGE);
  const book = compileOrExit(values['price-book']);
  process.stdout.write(`${values['price-book']}: valid (${book.price.productIds.length} cards, ${book.price.versions.length} versions, ${book.bytes.length} bytes compiled)\n`);
}

async function importCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { format: { type: 'string' }, out: { type: 'string' } } });
  if (values.format !== 'genai-prices' || positionals.length !== 1) throw new UsageError(USAGE);
  const { importGenaiPrices } = await import('@tariff/core-wasm/importers/genai-prices');
  const book: PriceBook = importGenaiPrices(readJson(positionals[0], 'catalogue'));
  const checked = compileBook(book);
  if (!checked.ok) throw new UsageError(`imported book is invalid: ${checked.errors.slice(0, 5).map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  const text = JSON.stringify(book, null, 2) + '\n';
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
}

/** Events for `estimate`: one from --event (a file, or JSON inline), or JSON lines from --events (a file or -). */
function readEstimateEvents(values: { event?: string; events?: string }): { events: UsageEvent[]; single: boolean } {
  if (values.event !== undefined && values.events !== undefined) throw new UsageError('give --event or --events, not both');
  if (values.event !== undefined) {
    const inline = values.event.trimStart().startsWith('{');
    let event: unknown;
    try {
      event = inline ? JSON.parse(values.event) : readJson(values.event, 'event');
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`--event is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new UsageError('--event must be one JSON object (use --events for JSON lines)');
    return { events: [event as UsageEvent], single: true };
  }
  if (values.events === undefined) throw new UsageError(USAGE);
  const lines = readFileSync(values.events === '-' ? 0 : values.events, 'utf8').split('\n');
  const events: UsageEvent[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      events.push(JSON.parse(line));
    } catch (error) {
      throw new UsageError(`${values.events === '-' ? 'stdin' : values.events} line ${i + 1} is not valid JSON: ${(error as Error).message}`);
    }
  });
  return { events, single: false };
}

function parseSpend(entries: string[] | undefined): Record<string, string> {
  const spend: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const at = entry.lastIndexOf('=');
    if (at <= 0) throw new UsageError(`--spend ${entry}: expected CUSTOMER=AMOUNT, e.g. acme=12.50`);
    spend[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return spend;
}

/** `estimate`: what the service would charge (or, with --check, whether it would take the event), computed locally. */
async function estimateCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'price-book': { type: 'string' }, event: { type: 'string' }, events: { type: 'string' }, state: { type: 'string' },
      check: { type: 'boolean' }, budget: { type: 'string' }, spend: { type: 'string', multiple: true },
      'update-state': { type: 'boolean' }, 'state-out': { type: 'string' },
    },
  });
  if (!values['price-book']) throw new UsageError(USAGE);
  if ((values.budget !== undefined || values.spend !== undefined) && !values.check) throw new UsageError('--budget and --spend apply to --check');
  if (values['state-out'] && !values['update-state']) throw new UsageError('--state-out needs --update-state');
  const book = compileOrExit(values['price-book']);
  const states = (values.state ? readJson(values.state, 'state') : {}) as StateMap;
  const { events, single } = readEstimateEvents(values);
  let estimator: Estimator;
  try {
    estimator = await Estimator.create({ wasm: wasmBytes(), book, states, spend: parseSpend(values.spend) });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const out: string[] = [];
  for (const event of events) {
    let result: unknown;
    if (values.check) {
      try {
        result = { transaction_id: event?.transaction_id, ...estimator.check(event, { budget: values.budget }) };
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      if (values['update-state']) estimator.estimate(event, { updateState: true });
    } else {
      result = estimator.estimate(event, { updateState: values['update-state'] });
    }
    out.push(single ? JSON.stringify(result, null, 2) : JSON.stringify(result));
  }
  process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
  if (values['state-out']) writeFileSync(values['state-out'], JSON.stringify(estimator.snapshot().states, null, 2) + '\n');
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${value}`);
  return n;
}

/**
 * `send`: JSON lines to POST /v1/events through the SDK's sender (batches, back-pressure, retries with the events'
 * own transaction ids). Progress on stderr; the totals as JSON on stdout. Exit 1 if any line was not delivered.
 */
async function sendCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      url: { type: 'string' }, 'api-key': { type: 'string' }, 'batch-size': { type: 'string' }, 'max-buffer': { type: 'string' },
      concurrency: { type: 'string' }, timeout: { type: 'string' },
    },
  });
  const apiKey = values['api-key'] ?? process.env.TARIFF_API_KEY;
  if (!values.url || positionals.length > 1) throw new UsageError(USAGE);
  if (!apiKey) throw new UsageError('send needs an API key: --api-key KEY or TARIFF_API_KEY');
  const source = positionals[0] ?? '-';
  const timeoutSeconds = values.timeout === undefined ? 120 : Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError(`--timeout must be a positive number of seconds, got ${values.timeout}`);
  let client: TariffClient;
  try {
    client = new TariffClient({ baseUrl: values.url, apiKey });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let total = 0;
  try {
    total = source === '-' ? 0 : statSync(source).size;
  } catch (error) {
    throw new UsageError(`cannot read ${source}: ${(error as Error).message}`);
  }

  const lineOf = new WeakMap<object, number>();
  let lines = 0;
  let invalid = 0;
  let bytes = 0;
  const sender = new EventSender({
    client,
    maxBatchSize: positiveInt(values['batch-size'], 'batch-size', 500),
    maxBufferedEvents: positiveInt(values['max-buffer'], 'max-buffer', 10_000),
    concurrency: positiveInt(values.concurrency, 'concurrency', 2),
    onRejected: ({ event, error }) => {
      process.stderr.write(`${clear()}line ${lineOf.get(event) ?? '?'}: ${event.transaction_id} rejected: ${error.code}${error.field ? ` (${error.field})` : ''}: ${error.message}\n`);
    },
    onError: (error, events, willRetry) => {
      if (!willRetry) process.stderr.write(`${clear()}${events.length} event(s) not delivered: ${error.code}: ${error.message}\n`);
    },
  });

  const started = Date.now();
  const tty = process.stderr.isTTY === true;
  let lastProgress = 0;
  const progress = (final = false) => {
    const now = Date.now();
    if (!final && now - lastProgress < (tty ? 100 : 5000)) return;
    lastProgress = now;
    const stats = sender.stats();
    const done = stats.accepted + stats.duplicate + stats.rejected;
    const bar = total > 0 ? `${progressBar(bytes / total)} ` : '';
    const line = `${bar}read ${lines} · sent ${done} (accepted ${stats.accepted}, duplicate ${stats.duplicate}, rejected ${stats.rejected})` +
      `${stats.retries ? ` · ${stats.retries} retries` : ''} · ${Math.round(done / Math.max(0.001, (now - started) / 1000))}/s`;
    process.stderr.write(tty ? `\r${line}\x1b[K${final ? '\n' : ''}` : `${line}\n`);
  };
  const clear = () => (tty ? '\r\x1b[K' : '');
  const timer = setInterval(() => progress(), tty ? 100 : 5000);

  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`${clear()}interrupted: sending what was read (Ctrl-C again to quit at once)\n`);
  };
  process.on('SIGINT', onInterrupt);

  const input = createInterface({ input: source === '-' ? process.stdin : createReadStream(source), crlfDelay: Infinity });
  for await (const line of input) {
    lines++;
    bytes += Buffer.byteLength(line) + 1;
    if (interrupted) break;
    if (!line.trim()) continue;
    let event: WireEvent;
    try {
      event = JSON.parse(line);
      if (typeof event === 'object' && event !== null) lineOf.set(event, lines);
      await sender.send(event);
    } catch (error) {
      invalid++;
      process.stderr.write(`${clear()}line ${lines}: not sent: ${(error as Error).message}\n`);
    }
    progress();
  }

  let undelivered = 0;
  try {
    await sender.close({ timeoutMs: timeoutSeconds * 1000 });
  } catch (error) {
    if (!(error instanceof SenderCloseTimeoutError)) throw error;
    undelivered = error.undelivered.length;
    process.stderr.write(`${clear()}${error.message}; first undelivered: ${error.undelivered.slice(0, 5).map((e) => e.transaction_id).join(', ')}\n`);
  } finally {
    clearInterval(timer);
    process.off('SIGINT', onInterrupt);
  }
  progress(true);
  const stats = sender.stats();
  const summary = {
    lines, invalid, accepted: stats.accepted, duplicate: stats.duplicate, rejected: stats.rejected, failed: stats.failed + undelivered,
    batches: stats.batches, retries: stats.retries, seconds: Math.round((Date.now() - started) / 10) / 100,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
  if (invalid || summary.rejected || summary.failed || interrupted) process.exitCode = 1;
}

/**
 * `usage`: GET /v1/customers/{id}/usage. A table by meter and group (value, events, amount) under a line with the
 * period, its total and the watermark; --json prints the service's answer as it is. Exit 1 when the service refuses.
 */
async function usageCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { url: { type: 'string' }, 'api-key': { type: 'string' }, at: { type: 'string' }, json: { type: 'boolean' } },
  });
  const apiKey = values['api-key'] ?? process.env.TARIFF_API_KEY;
  if (!values.url || positionals.length !== 1 || positionals[0] === '') throw new UsageError(USAGE);
  if (!apiKey) throw new UsageError('usage needs an API key: --api-key KEY or TARIFF_API_KEY');
  if (values.at !== undefined && Number.isNaN(Date.parse(values.at))) throw new UsageError(`--at must be an ISO 8601 instant, e.g. 2026-03-01T00:00:00Z, got ${values.at}`);
  let client: TariffClient;
  try {
    client = new TariffClient({ baseUrl: values.url, apiKey, retry: { maxRetries: 2 } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let usage;
  try {
    usage = await client.getUsage({ path: { id: positionals[0] }, ...(values.at === undefined ? {} : { query: { at: values.at } }) });
  } catch (error) {
    if (!(error instanceof TariffError)) throw error;
    process.stderr.write(`${error.code}${error.field ? ` (${error.field})` : ''}: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(usage, null, 2) + '\n');
    return;
  }
  const rows: string[][] = [['METER', 'GROUP', 'AGGREGATION', 'VALUE', 'EVENTS', 'AMOUNT']];
  for (const meter of usage.meters) {
    for (const group of meter.groups) {
      const key = Object.entries(group.group).map(([name, value]) => `${name}=${value ?? '(none)'}`).join(' ');
      rows.push([meter.code, key || '-', meter.aggregation, group.value ?? '-', group.event_count, group.amount]);
    }
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  // Text left, numbers right: the last three columns line up on their last digit.
  const format = (row: string[]) => row.map((cell, column) => (column >= 3 ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join('  ').trimEnd();
  const { period } = usage;
  process.stdout.write(
    `${usage.customer_id} · period ${period.start} → ${period.end} (${period.status}) · ${usage.event_count} events · amount ${usage.amount}\n` +
      (rows.length > 1 ? rows.map(format).join('\n') + '\n' : 'no metered usage in this period\n') +
      `watermark ${usage.watermark} (every event acknowledged before it is included)\n`,
  );
}

function progressBar(fraction: number): string {
  const width = 24;
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(Math.min(1, fraction) * 100)).padStart(3)}%`;
}

const commands: Record<string, (args: string[]) => unknown> = {
  rate: rateCommand, estimate: estimateCommand, send: sendCommand, usage: usageCommand, validate: validateCommand, 'import-prices': importCommand,
};

const [command, ...rest] = process.argv.slice(2);
try {
  const run = command ? commands[command] : undefined;
  if (!run) throw new UsageError(USAGE);
  await run(rest);
} catch (error) {
  process.stderr.write(`${error instanceof UsageError ? error.message : (error as Error).stack}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
