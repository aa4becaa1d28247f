// The `tariff` command line: rate events locally with the wasm kernel, validate books, import price lists.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type PriceBook, type StateMap, type UsageEvent, compileBook } from '@tariff/core-wasm';
import { loadKernel } from '@tariff/core-wasm/node';

const USAGE = `usage:
  tariff rate --price-book BOOK.json --events EVENTS.jsonl [--state STATE.json] [--state-out FILE]
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

const commands: Record<string, (args: string[]) => unknown> = { rate: rateCommand, validate: validateCommand, 'import-prices': importCommand };

const [command, ...rest] = process.argv.slice(2);
try {
  const run = command ? commands[command] : undefined;
  if (!run) throw new UsageError(USAGE);
  await run(rest);
} catch (error) {
  process.stderr.write(`${error instanceof UsageError ? error.message : (error as Error).stack}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
