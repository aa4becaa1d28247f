// The `tariff` command line: rate and estimate events locally with the wasm kernel, validate books, import price
// lists, send usage to a Tariff service.
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParsedResults<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;
import { type PriceBook, type StateMap, type UsageEvent, compileBook } from '@tariff/core-wasm';
import { loadKernel, wasmBytes } from '@tariff/core-wasm/node';
import { TariffClient, TariffError } from './client.ts';
import { Estimator } from './estimator.ts';
import { EventSender, SenderCloseTimeoutError, type UsageEvent as WireEvent } from './sender.ts';

const COMMANDS = ['rate', 'estimate', 'send', 'usage', 'validate', 'import-prices'] as const;
type Command = (typeof COMMANDS)[number];

/** `tariff <command> --help`: how to call it and what each option does. */
const HELP: Record<Command, string> = {
  rate: `usage: tariff rate --price-book BOOK.json --events EVENTS.jsonl|- [--state STATE.json] [--state-out FILE]

Rates JSON-lines events with the price book on the local wasm kernel; prints one JSON result per event.
  --price-book BOOK.json   the price book
  --events FILE|-          events, one JSON object a line (- reads stdin)
  --state STATE.json       customers' state (counters, allowances, grants) before the events
  --state-out FILE         write the state after the events`,
  estimate: `usage: tariff estimate --price-book BOOK.json (--event EVENT.json|'{...}' | --events EVENTS.jsonl|-) [--state STATE.json]
                [--check [--budget AMOUNT] [--spend CUSTOMER=AMOUNT ...]] [--update-state [--state-out FILE]] [--on-block accept|refuse]

What the service would charge for events (or, with --check, whether it would take them), computed locally.
  --event EVENT            one event: a file, or the JSON itself
  --events FILE|-          JSON lines
  --check                  answer allowed / refused against --budget and the customer's --spend
  --update-state           apply each event to the state before the next; --state-out writes it
  --on-block MODE          as POST /v1/events' on_block: accept (default) rates a customer who blocks on depletion
                           as overage and flags the event (blocked), refuse rejects it (the kernel's own answer)`,
  send: `usage: tariff send --url URL [--api-key KEY] [FILE.jsonl|-] [--batch-size N] [--max-buffer N] [--concurrency N] [--timeout SECONDS]

Sends JSON-lines events to POST /v1/events in batches, with retries; the key may come from TARIFF_API_KEY.
Progress on stderr, totals as JSON on stdout; exit 1 if any line was not delivered.`,
  usage: `usage: tariff usage CUSTOMER --url URL [--api-key KEY] [--at INSTANT] [--json]

The customer's current period's usage by meter and group; --at picks the period holding that instant.`,
  validate: `usage: tariff validate --price-book BOOK.json

Checks a price book; prints every problem with its JSON path (exit 2) or a one-line summary.`,
  'import-prices': `usage: tariff import-prices --format genai-prices|litellm [FILE|-] [--out BOOK.json] [--book-id ID]
                     [--regex keep|widen|reject] [--strict] [--report REPORT.json]
       tariff import-prices --format genai-prices|litellm [FILE|-] --update BOOK.json [--effective-from INSTANT]
                     [--preview] [--out BOOK.json] [--report REPORT.json]

Builds a price book from a public price catalogue: genai-prices (data.v2.json; without FILE, the catalogue of the
installed @pydantic/genai-prices package) or LiteLLM's model price map. Models whose prices cannot be stated are
skipped and listed on stderr with the reason; the rest is imported.
  --out BOOK.json          write the book there (default: stdout)
  --book-id ID             the book's id (default: the format's name)
  --regex MODE             genai-prices regexes without an exact rule: keep (default), widen, or reject (skip the model)
  --strict                 refuse the whole catalogue when anything would be skipped (exit 1)
  --report REPORT.json     write the skip report, the notes and, with --update, the changes as JSON
  --update BOOK.json       add the catalogue's prices to this book as a new version (not a new book)
  --effective-from INSTANT when the new version takes effect (default: now); after the book's latest version
  --preview                with --update: print what would change (added, removed, changed rates per model), write nothing`,
};

const OVERVIEW = `usage: tariff <command> [options]

commands:
  rate           rate events locally with a price book
  estimate       what events would cost, or whether a budget would take them
  send           send events to a Tariff service
  usage          a customer's usage this period, from a Tariff service
  validate       check a price book
  import-prices  build or update a price book from the genai-prices or LiteLLM catalogue

tariff <command> --help prints the command's options.`;

class UsageError extends Error {}

/** A missing or malformed argument: one line naming what is wrong and where the help is. */
function usageError(command: Command, problem: string): UsageError {
  return new UsageError(`tariff ${command}: ${problem} (see tariff ${command} --help)`);
}

/** parseArgs whose own errors (unknown option, missing value, stray argument) become one usage line. */
function parseOptions<const T extends ParseArgsConfig>(command: Command, config: T): ParsedResults<T> {
  try {
    return parseArgs(config);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) throw error;
    // Node adds advice on positionals starting with "-" after the first sentence; the help says more.
    throw usageError(command, (error as Error).message.split(/\.\s/)[0]!.replace(/\.$/, ''));
  }
}

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
    throw new UsageError(
      `price book ${path} is invalid:\n${compiled.errors.map((e) => `  ${e.path || '(root)'}: ${e.message}`).join('\n')}`,
    );
  }
  return compiled.book;
}

async function rateCommand(args: string[]): Promise<void> {
  const { values } = parseOptions('rate', {
    args,
    options: {
      'price-book': { type: 'string' },
      events: { type: 'string' },
      state: { type: 'string' },
      'state-out': { type: 'string' },
    },
  });
  if (!values['price-book']) throw usageError('rate', 'missing --price-book BOOK.json');
  if (!values.events) throw usageError('rate', 'missing --events EVENTS.jsonl (or - for stdin)');
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
      out.push(
        JSON.stringify({
          line: i + 1,
          status: 'error',
          error: { code: 'invalid_json', message: (error as Error).message },
        }),
      );
    }
    if (events.length >= 10_000) await flush();
    if (out.length >= 10_000) process.stdout.write(out.splice(0).join('\n') + '\n');
  }
  await flush();
  if (out.length) process.stdout.write(out.join('\n') + '\n');
  if (values['state-out']) writeFileSync(values['state-out'], JSON.stringify(currentStates, null, 2) + '\n');
}

function validateCommand(args: string[]): void {
  const { values } = parseOptions('validate', { args, options: { 'price-book': { type: 'string' } } });
  if (!values['price-book']) throw usageError('validate', 'missing --price-book BOOK.json');
  const book = compileOrExit(values['price-book']);
  process.stdout.write(
    `${values['price-book']}: valid (${book.price.productIds.length} cards, ${book.price.versions.length} versions, ${book.bytes.length} bytes compiled)\n`,
  );
}

/**
 * `import-prices`: a book from a catalogue, or with --update a new version of an existing book. What cannot be stated
 * is skipped and listed on stderr (the import goes on); --strict refuses instead.
 */
async function importCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseOptions('import-prices', {
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      out: { type: 'string' },
      'book-id': { type: 'string' },
      regex: { type: 'string' },
      strict: { type: 'boolean' },
      report: { type: 'string' },
      update: { type: 'string' },
      'effective-from': { type: 'string' },
      preview: { type: 'boolean' },
    },
  });
  const { CATALOGUE_FORMATS, CatalogueImportError, CatalogueUpdateError, importCatalogue, planCatalogueUpdate } =
    await import('@tariff/core-wasm/importers/catalogue');
  const format = values.format;
  if (format === undefined) throw usageError('import-prices', `missing --format (${CATALOGUE_FORMATS.join(' or ')})`);
  if (!(CATALOGUE_FORMATS as readonly string[]).includes(format))
    throw usageError('import-prices', `--format must be ${CATALOGUE_FORMATS.join(' or ')}, got '${format}'`);
  if (positionals.length > 1)
    throw usageError('import-prices', `one catalogue FILE at most, got ${positionals.length}`);
  if (values.regex !== undefined && !['keep', 'widen', 'reject'].includes(values.regex))
    throw usageError('import-prices', `--regex must be keep, widen or reject, got '${values.regex}'`);
  if (values.update === undefined && (values.preview || values['effective-from'] !== undefined))
    throw usageError('import-prices', '--preview and --effective-from apply to --update');
  if (values.update !== undefined && values['book-id'] !== undefined)
    throw usageError('import-prices', '--book-id does not apply to --update (the book keeps its id)');
  const effectiveFrom = values['effective-from'] ?? new Date().toISOString();
  if (Number.isNaN(Date.parse(effectiveFrom)))
    throw usageError('import-prices', `--effective-from must be an ISO 8601 instant, got '${effectiveFrom}'`);

  const existing = values.update === undefined ? undefined : (readJson(values.update, 'price book') as PriceBook);
  if (existing !== undefined) compileOrExit(values.update!);
  const catalogue =
    positionals[0] !== undefined
      ? readCatalogue(positionals[0])
      : format === 'genai-prices'
        ? await installedGenaiPrices()
        : undefined;
  if (catalogue === undefined) throw usageError('import-prices', 'missing the catalogue FILE (- reads stdin)');

  let imported: ReturnType<typeof importCatalogue>;
  try {
    imported = importCatalogue(format as (typeof CATALOGUE_FORMATS)[number], catalogue, {
      bookId: existing?.id ?? values['book-id'],
      regex: values.regex as 'keep' | 'widen' | 'reject' | undefined,
      strict: values.strict,
    });
  } catch (error) {
    if (!(error instanceof CatalogueImportError)) throw error;
    if (values.report)
      writeFileSync(
        values.report,
        JSON.stringify({ skipped: error.skipped, problems: error.problems }, null, 2) + '\n',
      );
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  const checked = compileBook(imported.book);
  if (!checked.ok)
    throw new Error(
      `imported book is invalid: ${checked.errors
        .slice(0, 5)
        .map((e) => `${e.path}: ${e.message}`)
        .join('; ')}`,
    );
  const cards = imported.book.versions.at(-1)?.rate_cards.length ?? 0;
  process.stderr.write(
    `${format}: ${cards} cards in ${imported.book.versions.length} version(s)${formatSkipped(imported.skipped)}\n`,
  );

  let book = imported.book;
  let changes: unknown;
  if (existing !== undefined) {
    let update: ReturnType<typeof planCatalogueUpdate>;
    try {
      update = planCatalogueUpdate(existing, imported.book, effectiveFrom);
    } catch (error) {
      if (error instanceof CatalogueUpdateError)
        throw usageError('import-prices', `cannot update ${values.update}: ${error.field} ${error.message}`);
      throw error;
    }
    changes = update.changes;
    const text = formatChanges(update, existing);
    if (values.preview) process.stdout.write(text);
    else process.stderr.write(text);
    book = { ...existing, versions: [...existing.versions, ...update.versions] };
  }
  if (values.report) {
    writeFileSync(
      values.report,
      JSON.stringify({ skipped: imported.skipped, notes: imported.notes, ...(changes ? { changes } : {}) }, null, 2) +
        '\n',
    );
  }
  if (values.preview) return;
  const text = JSON.stringify(book, null, 2) + '\n';
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
}

function readCatalogue(path: string): unknown {
  if (path !== '-') return readJson(path, 'catalogue');
  try {
    return JSON.parse(readFileSync(0, 'utf8'));
  } catch (error) {
    throw new UsageError(`the catalogue on stdin is not valid JSON: ${(error as Error).message}`);
  }
}

/** The catalogue the installed @pydantic/genai-prices package prices with (its own data, the newest it has). */
async function installedGenaiPrices(): Promise<unknown> {
  let module: { waitForUpdate(): Promise<unknown> };
  try {
    module = (await import('@pydantic/genai-prices')) as typeof module;
  } catch {
    throw usageError(
      'import-prices',
      'give the catalogue FILE, or install @pydantic/genai-prices to import its catalogue',
    );
  }
  return JSON.parse(JSON.stringify(await module.waitForUpdate()));
}

function formatSkipped(
  skipped: { provider: string | null; model: string | null; path: string; reason: string; now_priced_by?: string }[],
): string {
  if (skipped.length === 0) return '; nothing skipped';
  const lines = skipped.map(
    (skip) =>
      `  ${skip.provider ?? '?'}/${skip.model ?? '*'} (${skip.path}): ${skip.reason}` +
      (skip.now_priced_by ? ` [its name now matches card ${skip.now_priced_by}]` : ''),
  );
  return `; skipped ${skipped.length} it cannot state:\n${lines.join('\n')}`;
}

type Plan = {
  versions: { effective_from: string }[];
  changes: { added: Change[]; removed: Change[]; changed: Change[]; unchanged: number; windows: { window: string }[] };
};
type Change = { card: string; rates: { charge: string; before: unknown; after: unknown }[] };

/** The changes a catalogue update makes, one line per card and rate. */
function formatChanges(plan: Plan, book: PriceBook): string {
  const { changes } = plan;
  const latest = book.versions.at(-1);
  const from = `version ${book.versions.length}${latest ? ` (from ${latest.effective_from})` : ''}`;
  if (plan.versions.length === 0) return `no changes: ${book.id} ${from} already has these prices; no version added\n`;
  const lines = [
    `${book.id}: ${from} -> new version from ${plan.versions[0]!.effective_from}` +
      `${plan.versions.length > 1 ? ` (and ${plan.versions.length - 1} later dated version(s) of the catalogue)` : ''}:`,
  ];
  const rates = (change: Change, side: 'before' | 'after') =>
    change.rates
      .filter((rate) => rate.charge !== 'match')
      .map((rate) => `${rate.charge} ${formatPrice(rate[side])}`)
      .join(', ');
  for (const change of changes.added) lines.push(`  added    ${change.card}: ${rates(change, 'after')}`);
  for (const change of changes.removed) lines.push(`  removed  ${change.card}: ${rates(change, 'before')}`);
  for (const change of changes.changed) {
    lines.push(
      `  changed  ${change.card}: ${change.rates.map((rate) => `${rate.charge} ${formatPrice(rate.before)} -> ${formatPrice(rate.after)}`).join(', ')}`,
    );
  }
  for (const window of changes.windows) lines.push(`  window   ${window.window} changed`);
  lines.push(
    `  ${changes.added.length} added, ${changes.removed.length} removed, ${changes.changed.length} changed, ${changes.unchanged} unchanged`,
  );
  return lines.join('\n') + '\n';
}

function formatPrice(price: unknown): string {
  if (price === null || typeof price !== 'object') return 'none';
  const p = price as {
    model?: string;
    rate?: string;
    per?: string;
    amount?: string;
    tiers?: { above: string; rate: string }[];
  };
  const per = p.per && p.per !== '1' ? `/${p.per}` : '';
  if (p.model === 'per_unit') return `${p.rate}${per}`;
  if (p.model === 'flat') return `${p.amount} per event`;
  if (p.model === 'request_tiers')
    return `${p.rate}${per} (${p.tiers!.map((tier) => `above ${tier.above}: ${tier.rate}`).join(', ')})`;
  return JSON.stringify(price);
}

/** Events for `estimate`: one from --event (a file, or JSON inline), or JSON lines from --events (a file or -). */
function readEstimateEvents(values: { event?: string; events?: string }): { events: UsageEvent[]; single: boolean } {
  if (values.event !== undefined && values.events !== undefined)
    throw new UsageError('give --event or --events, not both');
  if (values.event !== undefined) {
    const inline = values.event.trimStart().startsWith('{');
    let event: unknown;
    try {
      event = inline ? JSON.parse(values.event) : readJson(values.event, 'event');
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`--event is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event))
      throw new UsageError('--event must be one JSON object (use --events for JSON lines)');
    return { events: [event as UsageEvent], single: true };
  }
  if (values.events === undefined) throw usageError('estimate', 'missing --event EVENT or --events EVENTS.jsonl');
  const lines = readFileSync(values.events === '-' ? 0 : values.events, 'utf8').split('\n');
  const events: UsageEvent[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      events.push(JSON.parse(line));
    } catch (error) {
      throw new UsageError(
        `${values.events === '-' ? 'stdin' : values.events} line ${i + 1} is not valid JSON: ${(error as Error).message}`,
      );
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
  const { values } = parseOptions('estimate', {
    args,
    options: {
      'price-book': { type: 'string' },
      event: { type: 'string' },
      events: { type: 'string' },
      state: { type: 'string' },
      check: { type: 'boolean' },
      budget: { type: 'string' },
      spend: { type: 'string', multiple: true },
      'update-state': { type: 'boolean' },
      'state-out': { type: 'string' },
      'on-block': { type: 'string' },
    },
  });
  if (!values['price-book']) throw usageError('estimate', 'missing --price-book BOOK.json');
  const onBlock = values['on-block'];
  if (onBlock !== undefined && onBlock !== 'accept' && onBlock !== 'refuse')
    throw new UsageError('--on-block must be accept or refuse');
  if ((values.budget !== undefined || values.spend !== undefined) && !values.check)
    throw new UsageError('--budget and --spend apply to --check');
  if (values['state-out'] && !values['update-state']) throw new UsageError('--state-out needs --update-state');
  const book = compileOrExit(values['price-book']);
  const states = (values.state ? readJson(values.state, 'state') : {}) as StateMap;
  const { events, single } = readEstimateEvents(values);
  let estimator: Estimator;
  try {
    estimator = await Estimator.create({
      wasm: wasmBytes(),
      book,
      states,
      spend: parseSpend(values.spend),
      ...(onBlock === undefined ? {} : { onBlock }),
    });
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
  if (values['state-out'])
    writeFileSync(values['state-out'], JSON.stringify(estimator.snapshot().states, null, 2) + '\n');
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
  const { values, positionals } = parseOptions('send', {
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'api-key': { type: 'string' },
      'batch-size': { type: 'string' },
      'max-buffer': { type: 'string' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
    },
  });
  const apiKey = values['api-key'] ?? process.env.TARIFF_API_KEY;
  if (!values.url) throw usageError('send', 'missing --url URL');
  if (positionals.length > 1) throw usageError('send', `one FILE at most, got ${positionals.length}`);
  if (!apiKey) throw new UsageError('send needs an API key: --api-key KEY or TARIFF_API_KEY');
  const source = positionals[0] ?? '-';
  const timeoutSeconds = values.timeout === undefined ? 120 : Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
    throw new UsageError(`--timeout must be a positive number of seconds, got ${values.timeout}`);
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
      process.stderr.write(
        `${clear()}line ${lineOf.get(event) ?? '?'}: ${event.transaction_id} rejected: ${error.code}${error.field ? ` (${error.field})` : ''}: ${error.message}\n`,
      );
    },
    onError: (error, events, willRetry) => {
      if (!willRetry)
        process.stderr.write(`${clear()}${events.length} event(s) not delivered: ${error.code}: ${error.message}\n`);
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
    const line =
      `${bar}read ${lines} · sent ${done} (accepted ${stats.accepted}, duplicate ${stats.duplicate}, rejected ${stats.rejected})` +
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

  const input = createInterface({
    input: source === '-' ? process.stdin : createReadStream(source),
    crlfDelay: Infinity,
  });
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
    process.stderr.write(
      `${clear()}${error.message}; first undelivered: ${error.undelivered
        .slice(0, 5)
        .map((e) => e.transaction_id)
        .join(', ')}\n`,
    );
  } finally {
    clearInterval(timer);
    process.off('SIGINT', onInterrupt);
  }
  progress(true);
  const stats = sender.stats();
  const summary = {
    lines,
    invalid,
    accepted: stats.accepted,
    duplicate: stats.duplicate,
    rejected: stats.rejected,
    failed: stats.failed + undelivered,
    batches: stats.batches,
    retries: stats.retries,
    seconds: Math.round((Date.now() - started) / 10) / 100,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
  if (invalid || summary.rejected || summary.failed || interrupted) process.exitCode = 1;
}

/**
 * `usage`: GET /v1/customers/{id}/usage. A table by meter and group (value, events, amount) under a line with the
 * period, its total and the watermark; --json prints the service's answer as it is. Exit 1 when the service refuses.
 */
async function usageCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseOptions('usage', {
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'api-key': { type: 'string' },
      at: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const apiKey = values['api-key'] ?? process.env.TARIFF_API_KEY;
  if (positionals.length !== 1 || positionals[0] === '')
    throw usageError('usage', 'give one CUSTOMER (its id or external id)');
  if (!values.url) throw usageError('usage', 'missing --url URL');
  if (!apiKey) throw new UsageError('usage needs an API key: --api-key KEY or TARIFF_API_KEY');
  if (values.at !== undefined && Number.isNaN(Date.parse(values.at)))
    throw new UsageError(`--at must be an ISO 8601 instant, e.g. 2026-03-01T00:00:00Z, got ${values.at}`);
  let client: TariffClient;
  try {
    client = new TariffClient({ baseUrl: values.url, apiKey, retry: { maxRetries: 2 } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let usage;
  try {
    usage = await client.getUsage({
      path: { id: positionals[0] },
      ...(values.at === undefined ? {} : { query: { at: values.at } }),
    });
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
      const key = Object.entries(group.group)
        .map(([name, value]) => `${name}=${value ?? '(none)'}`)
        .join(' ');
      rows.push([meter.code, key || '-', meter.aggregation, group.value ?? '-', group.event_count, group.amount]);
    }
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  // Text left, numbers right: the last three columns line up on their last digit.
  const format = (row: string[]) =>
    row
      .map((cell, column) => (column >= 3 ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
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

const commands: Record<Command, (args: string[]) => unknown> = {
  rate: rateCommand,
  estimate: estimateCommand,
  send: sendCommand,
  usage: usageCommand,
  validate: validateCommand,
  'import-prices': importCommand,
};

const isHelp = (arg: string) => arg === '--help' || arg === '-h';
const isCommand = (name: string | undefined): name is Command => (COMMANDS as readonly string[]).includes(name ?? '');

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined)
    throw new UsageError(`tariff: missing command, one of ${COMMANDS.join(', ')} (see tariff --help)`);
  if (isHelp(command) || command === 'help') {
    const topic = rest[0];
    if (topic !== undefined && !isCommand(topic))
      throw new UsageError(`tariff help: unknown command '${topic}' (see tariff --help)`);
    process.stdout.write(`${topic === undefined ? OVERVIEW : HELP[topic]}\n`);
    return;
  }
  if (command.startsWith('-')) throw new UsageError(`tariff: unknown option '${command}' (see tariff --help)`);
  if (!isCommand(command)) throw new UsageError(`tariff: unknown command '${command}' (see tariff --help)`);
  // Help wins wherever it is asked for, before any other option is checked.
  const end = rest.indexOf('--');
  if ((end === -1 ? rest : rest.slice(0, end)).some(isHelp)) {
    process.stdout.write(`${HELP[command]}\n`);
    return;
  }
  await commands[command](rest);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  // Usage errors and bad input exit 2 with their message; anything else exits 1 with its message (the stack only
  // with TARIFF_DEBUG set).
  const message =
    error instanceof UsageError || !process.env.TARIFF_DEBUG ? (error as Error).message : (error as Error).stack;
  process.stderr.write(`${error instanceof UsageError ? '' : 'tariff: '}${message}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
