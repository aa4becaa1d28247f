// The tariff CLI as a user meets it: help, one-line usage errors, and import-prices (skip report, LiteLLM, updates of
// a book as new versions with a preview). Catalogues come from inside the repository or the installed npm package.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { importCatalogue } from '../core-wasm/src/importers/catalogue.ts';

const execute = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const litellmFile = join(root, 'core-wasm/src/importers/data/litellm/model_prices.2026-07-24.json');

/** Runs the CLI; resolves with its exit code, stdout and stderr whatever the code. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execute('node', ['--import', 'tsx', 'sdk/src/cli.ts', ...args], {
      cwd: root,
      maxBuffer: 256 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

const COMMANDS = ['rate', 'estimate', 'send', 'usage', 'validate', 'import-prices'];

describe('tariff help and usage errors', () => {
  it('prints the commands for --help, -h and help, exit 0', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const result = await cli(args);
      expect(result.code).toBe(0);
      for (const command of COMMANDS) expect(result.stdout).toContain(`  ${command} `);
      expect(result.stderr).toBe('');
    }
  }, 300_000);

  it("prints each command's usage for tariff <command> --help, exit 0, even beside other options", async () => {
    for (const command of COMMANDS) {
      const result = await cli([command, '--help']);
      expect(result.code, command).toBe(0);
      expect(result.stdout.startsWith(`usage: tariff ${command}`), result.stdout).toBe(true);
    }
    const beside = await cli(['import-prices', '--format', 'nonsense', '--help']);
    expect(beside.code).toBe(0);
    expect(beside.stdout).toContain('--update BOOK.json');
  }, 300_000);

  it('answers an unknown option, an unknown command or a missing argument with one line and exit 2, never a stack', async () => {
    const cases: [string[], string][] = [
      [['rate', '--bogus'], "tariff rate: Unknown option '--bogus' (see tariff rate --help)"],
      [
        ['import-prices', '--format'],
        "tariff import-prices: Option '--format <value>' argument missing (see tariff import-prices --help)",
      ],
      [['bogus'], "tariff: unknown command 'bogus' (see tariff --help)"],
      [['--bogus'], "tariff: unknown option '--bogus' (see tariff --help)"],
      [[], 'tariff: missing command, one of rate, estimate, send, usage, validate, import-prices (see tariff --help)'],
      [
        ['rate', '--price-book', 'x.json'],
        'tariff rate: missing --events EVENTS.jsonl (or - for stdin) (see tariff rate --help)',
      ],
      [['validate'], 'tariff validate: missing --price-book BOOK.json (see tariff validate --help)'],
      [['estimate'], 'tariff estimate: missing --price-book BOOK.json (see tariff estimate --help)'],
      [['send'], 'tariff send: missing --url URL (see tariff send --help)'],
      [
        ['usage', '--url', 'http://x'],
        'tariff usage: give one CUSTOMER (its id or external id) (see tariff usage --help)',
      ],
      [
        ['import-prices', 'file.json'],
        'tariff import-prices: missing --format (genai-prices or litellm) (see tariff import-prices --help)',
      ],
      [
        ['import-prices', '--format', 'csv', 'file.json'],
        "tariff import-prices: --format must be genai-prices or litellm, got 'csv' (see tariff import-prices --help)",
      ],
      [
        ['import-prices', '--format', 'litellm'],
        'tariff import-prices: missing the catalogue FILE (- reads stdin) (see tariff import-prices --help)',
      ],
      [
        ['import-prices', '--format', 'litellm', 'x', '--preview'],
        'tariff import-prices: --preview and --effective-from apply to --update (see tariff import-prices --help)',
      ],
      [['help', 'bogus'], "tariff help: unknown command 'bogus' (see tariff --help)"],
    ];
    for (const [args, line] of cases) {
      const result = await cli(args);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 2, stderr: `${line}\n` });
    }
  }, 300_000);
});

describe('tariff import-prices', () => {
  it('imports the installed genai-prices catalogue, listing what it skipped and why, and the book validates', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tariff-cli-'));
    const book = join(work, 'book.json');
    const report = join(work, 'report.json');
    const result = await cli(['import-prices', '--format', 'genai-prices', '--out', book, '--report', report]);
    expect(result.code, result.stderr).toBe(0);
    const { skipped } = JSON.parse(readFileSync(report, 'utf8'));
    expect(result.stderr).toMatch(/^genai-prices: \d{4} cards in \d+ version\(s\)/);
    for (const skip of skipped)
      expect(result.stderr).toContain(`  ${skip.provider}/${skip.model} (${skip.path}): ${skip.reason}`);
    // The same report as the library gives for the same catalogue (which is what the API returns).
    const { waitForUpdate } = await import('@pydantic/genai-prices');
    expect(skipped).toEqual(importCatalogue('genai-prices', JSON.parse(JSON.stringify(await waitForUpdate()))).skipped);
    const validated = await cli(['validate', '--price-book', book]);
    expect(validated.stdout).toMatch(/valid \(\d{4} cards/);
  }, 300_000);

  it("imports LiteLLM's map with the same skip report, and refuses it under --strict (exit 1)", async () => {
    const work = mkdtempSync(join(tmpdir(), 'tariff-cli-'));
    const book = join(work, 'book.json');
    const report = join(work, 'report.json');
    const result = await cli(['import-prices', '--format', 'litellm', litellmFile, '--out', book, '--report', report]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      '  openai/dall-e-3 ($["dall-e-3"]): prices with no Tariff usage key: input_cost_per_image\n',
    );
    const expected = importCatalogue('litellm', JSON.parse(readFileSync(litellmFile, 'utf8')));
    expect(JSON.parse(readFileSync(report, 'utf8')).skipped).toEqual(expected.skipped);
    expect(JSON.parse(readFileSync(book, 'utf8'))).toEqual(expected.book);
    const event = {
      transaction_id: 'a',
      customer_id: 'c',
      event_type: 'llm',
      timestamp: '2026-08-01T00:00:00Z',
      properties: { provider: 'openai', model: 'gpt-4o', input_tokens: 1000, output_tokens: 100, cache_read_tokens: 0 },
    };
    writeFileSync(join(work, 'events.jsonl'), JSON.stringify(event) + '\n');
    const rated = JSON.parse(
      (await cli(['rate', '--price-book', book, '--events', join(work, 'events.jsonl')])).stdout,
    );
    expect(rated.amount).toBe('0.003500000'); // 1000 x 2.5e-6 + 100 x 1e-5, as the file prices gpt-4o

    const strict = await cli([
      'import-prices',
      '--format',
      'litellm',
      litellmFile,
      '--strict',
      '--out',
      join(work, 'strict.json'),
    ]);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('cannot be stated (strict import)');
    expect(strict.stderr).toContain('openai/dall-e-3');
  }, 300_000);

  it('updates a book from a newer catalogue as a new version of the same book, previewing the changes first', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tariff-cli-'));
    const model = (id: string, prices: unknown) => ({ id, match: { equals: id }, prices });
    writeFileSync(
      join(work, 'v1.json'),
      JSON.stringify([
        { id: 'acme', models: [model('a', { input_mtok: 1, output_mtok: 2 }), model('gone', { input_mtok: 4 })] },
      ]),
    );
    writeFileSync(
      join(work, 'v2.json'),
      JSON.stringify([
        { id: 'acme', models: [model('a', { input_mtok: 1, output_mtok: 2.5 }), model('new', { input_mtok: 7 })] },
      ]),
    );
    const book = join(work, 'book.json');
    expect(
      (
        await cli([
          'import-prices',
          '--format',
          'genai-prices',
          join(work, 'v1.json'),
          '--book-id',
          'acme-prices',
          '--out',
          book,
        ])
      ).code,
    ).toBe(0);
    const before = readFileSync(book, 'utf8');

    const preview = await cli([
      'import-prices',
      '--format',
      'genai-prices',
      join(work, 'v2.json'),
      '--update',
      book,
      '--effective-from',
      '2026-09-01T00:00:00Z',
      '--preview',
    ]);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toBe(
      'acme-prices: version 1 (from 1970-01-01T00:00:00.000Z) -> new version from 2026-09-01T00:00:00.000Z:\n' +
        '  added    acme/new: input_tokens 7/1000000\n' +
        '  removed  acme/gone: input_tokens 4/1000000\n' +
        '  changed  acme/a: output_tokens 2/1000000 -> 2.5/1000000\n' +
        '  1 added, 1 removed, 1 changed, 0 unchanged\n',
    );
    expect(readFileSync(book, 'utf8')).toBe(before); // a preview writes nothing

    const updated = join(work, 'updated.json');
    const update = await cli([
      'import-prices',
      '--format',
      'genai-prices',
      join(work, 'v2.json'),
      '--update',
      book,
      '--effective-from',
      '2026-09-01T00:00:00Z',
      '--out',
      updated,
    ]);
    expect(update.code, update.stderr).toBe(0);
    expect(update.stderr).toContain('changed  acme/a: output_tokens 2/1000000 -> 2.5/1000000');
    const result = JSON.parse(readFileSync(updated, 'utf8'));
    expect(result.id).toBe('acme-prices');
    expect(result.versions.map((version: { effective_from: string }) => version.effective_from)).toEqual([
      '1970-01-01T00:00:00.000Z',
      '2026-09-01T00:00:00.000Z',
    ]);
    expect(result.versions[1].rate_cards.map((card: { id: string }) => card.id)).toEqual(['acme/a', 'acme/new']);
    expect((await cli(['validate', '--price-book', updated])).code).toBe(0);

    const again = await cli([
      'import-prices',
      '--format',
      'genai-prices',
      join(work, 'v2.json'),
      '--update',
      updated,
      '--effective-from',
      '2026-10-01T00:00:00Z',
      '--preview',
    ]);
    expect(again.stdout).toBe(
      'no changes: acme-prices version 2 (from 2026-09-01T00:00:00.000Z) already has these prices; no version added\n',
    );
    const early = await cli([
      'import-prices',
      '--format',
      'genai-prices',
      join(work, 'v2.json'),
      '--update',
      updated,
      '--effective-from',
      '2026-01-01T00:00:00Z',
    ]);
    expect(early.code).toBe(2);
    expect(early.stderr.split('\n').at(-2)).toBe(
      `tariff import-prices: cannot update ${updated}: effective_from must be after the book's latest version (2026-09-01T00:00:00.000Z); got 2026-01-01T00:00:00.000Z (see tariff import-prices --help)`,
    );
  }, 300_000);
});
