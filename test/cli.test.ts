// The tariff CLI end to end, as a user runs it: rate (with state and cost), validate, import-prices.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { GENAI_PRICES_SNAPSHOT_PATH } from '../core-wasm/src/importers/genai-prices-snapshot.ts';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const cli = (args: string[], input?: string) => {
  const child = run('node', ['--import', 'tsx', 'sdk/src/cli.ts', ...args], { cwd: root, maxBuffer: 64 << 20 });
  if (input !== undefined) child.child.stdin!.end(input);
  return child;
};

describe('tariff rate', () => {
  it('prints one line per event with amount, currency, cost and receipt, and an error line for each bad event', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tariff-cli-'));
    const { stdout } = await cli([
      'rate',
      '--price-book',
      'core-wasm/examples/llm-book.json',
      '--events',
      'core-wasm/examples/events.jsonl',
      '--state',
      'core-wasm/examples/state.json',
      '--state-out',
      join(work, 'state.json'),
    ]);
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((l) => l.transaction_id)).toEqual(
      Array.from({ length: 13 }, (_, i) => `evt_${String(i + 1).padStart(3, '0')}`),
    );
    const byId = Object.fromEntries(lines.map((l) => [l.transaction_id, l]));
    // 1.1M uncached (1M included) at 2.50, 100k cached at 1.25, 5k output at 10 per million; 10% off, paid by credits.
    expect(byId.evt_001).toMatchObject({
      status: 'rated',
      currency: 'USD',
      subtotal: '0.425000000',
      amount: '0.000000000',
      cost: '2.318000000',
      margin: '-1.935500000',
    });
    expect(byId.evt_001.receipt.map((s: { step: string }) => s.step)).toEqual([
      'quantity',
      'allowance',
      'price',
      'quantity',
      'price',
      'quantity',
      'price',
      'discount',
      'credit',
    ]);
    expect(byId.evt_005).toMatchObject({ subtotal: '0.010375000', cost: '0.002770833' }); // 0.25 GPU x 60 s minimum
    expect(byId.evt_007.receipt).toEqual([{ step: 'outcome', outcome: 'infra_failure', note: 'no_charge' }]);
    expect(byId.evt_009.amount).toBe('0.015000000'); // 0.0125 pass-through + 20%
    expect(byId.evt_010.book_version).toBe('2026-06-01T00:00:00.000Z');
    expect(byId.evt_011.error).toMatchObject({ code: 'invalid_property', field: 'properties.input_tokens' });
    expect(byId.evt_012.error).toMatchObject({ code: 'invalid_timestamp', field: 'timestamp' });
    expect(byId.evt_013.error).toMatchObject({ code: 'no_rate_card' });
    const state = JSON.parse(readFileSync(join(work, 'state.json'), 'utf8'));
    expect(state.acme.allowances.starter_tokens).toBe('0.000000');
    expect(state.acme.grants.find((g: { id: string }) => g.id === 'promo-launch').balance).toBe('0.000000000');
  });

  it('reads events from stdin and reports a malformed line without losing the others', async () => {
    const good = readFileSync(join(root, 'core-wasm/examples/events.jsonl'), 'utf8').split('\n')[0];
    const { stdout } = await cli(
      ['rate', '--price-book', 'core-wasm/examples/llm-book.json', '--events', '-'],
      `${good}\n{not json\n${good.replace('evt_001', 'evt_again')}\n`,
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((l) => l.transaction_id ?? `line ${l.line}`)).toEqual(['evt_001', 'line 2', 'evt_again']);
    expect(lines[1].error.code).toBe('invalid_json');
    expect(lines[2].status).toBe('rated');
  });

  it('refuses an invalid book with every problem and its JSON path, exit code 2', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tariff-cli-'));
    writeFileSync(
      join(work, 'bad.json'),
      JSON.stringify({ id: 'x', currency: 'usd', versions: [{ effective_from: 'soon', rate_cards: [] }] }),
    );
    const failure = await cli(['validate', '--price-book', join(work, 'bad.json')]).catch((error) => error);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain('currency: must be an ISO 4217 code');
    expect(failure.stderr).toContain('versions[0].effective_from: must be an ISO 8601 instant');
  });
});

describe('tariff import-prices', () => {
  it('imports the genai-prices catalogue into a book that validates and rates', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tariff-cli-'));
    const book = join(work, 'book.json');
    await cli(['import-prices', '--format', 'genai-prices', GENAI_PRICES_SNAPSHOT_PATH, '--out', book]);
    const { stdout } = await cli(['validate', '--price-book', book]);
    expect(stdout).toMatch(/valid \(\d{4} cards, 6 versions/);
    const event = {
      transaction_id: 'a',
      customer_id: 'c',
      event_type: 'llm',
      timestamp: '2026-05-01T12:00:00Z',
      properties: {
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        input_tokens: 250000,
        cache_read_tokens: 1000,
        output_tokens: 1000,
      },
    };
    const rated = JSON.parse(
      (await cli(['rate', '--price-book', book, '--events', '-'], JSON.stringify(event))).stdout,
    );
    // Above 200k input tokens: 249k at $6, 1k cache reads at $0.60, 1k output at $22.50 per million.
    expect(rated.amount).toBe('1.517100000');
  });
});
