// Non-Latin names and addresses in the PDF: Greek, Cyrillic, Arabic, Hebrew, Chinese, Japanese kana and Korean are
// drawn with the shipped Noto fonts and read back by pdftotext (poppler-utils) as the same text; Latin stays in
// Helvetica. A page is rendered to PNG (pdftoppm) beside it for a person to look at. Lines mixing right-to-left
// and Latin text are drawn in the visual order of the Unicode Bidirectional Algorithm, which the glyphs'
// positions (pdftotext -bbox) show.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { DocumentModel } from './model.ts';
import { renderPdf } from './render-pdf.ts';

const execute = promisify(execFile);
const names = {
  greek: 'Αθηναϊκή Εταιρεία Νεφών',
  cyrillic: 'ООО «Вычислительный центр»',
  arabic: 'شركة النور',
  hebrew: 'חברת ענן',
  chinese: '北京云计算有限公司',
  japanese: 'クラウド株式会社',
  korean: '서울클라우드 주식회사',
};

const model: DocumentModel = {
  kind: 'invoice',
  title: 'Invoice',
  number: 'INV-000042',
  issueDate: '2026-04-01',
  supplyStart: '2026-03-01',
  supplyEnd: '2026-03-31',
  currency: 'EUR',
  seller: {
    name: 'Tariff Café GmbH',
    address: 'Torstraße 1, Berlin',
    country: 'DE',
    taxIds: [],
    logoUrl: null,
    logo: null,
    replyTo: null,
  },
  buyer: {
    name: `${names.greek} / ${names.cyrillic}`,
    address: `${names.chinese}, ${names.japanese}, ${names.korean}`,
    country: `${names.arabic} ${names.hebrew}`,
    taxIds: [],
    reference: 'buyer-1',
  },
  lines: [
    { description: `GPU hours (${names.korean})`, quantity: '1', unitPrice: '10.00', amount: '10.00', tax: null },
  ],
  subtotal: '10.00',
  taxes: [],
  total: '10.00',
  totalLabel: 'Total due',
  mention: null,
  legalBasis: null,
  fxNote: null,
  paymentTerms: null,
  reference: null,
  breakdown: null,
};

describe('the PDF with text in other scripts', () => {
  it.skipIf(!existsSync('/usr/bin/pdftotext'))(
    'round-trips Greek, Cyrillic, Arabic, Hebrew, CJK and Korean through pdftotext',
    async () => {
      const directory = await mkdtemp(path.join(os.tmpdir(), 'tariff-fonts-'));
      const file = path.join(directory, 'scripts.pdf');
      await writeFile(file, await renderPdf(model));
      await execute('/usr/bin/pdftotext', ['-enc', 'UTF-8', file, `${file}.txt`]);
      // Lines wrap anywhere: compared without whitespace; right-to-left words are checked one by one.
      const text = (await readFile(`${file}.txt`, 'utf8')).normalize('NFC').replace(/\s+/g, '');
      for (const [script, name] of Object.entries(names)) {
        const words = name.split(' ').filter((w) => w.length > 1);
        for (const word of words)
          expect(text, `${script}: ${word}`).toContain(word.normalize('NFC').replace(/\s+/g, ''));
      }
      expect(text).toContain('TariffCaféGmbH');
      expect(text).not.toContain('?');
      if (existsSync('/usr/bin/pdftoppm'))
        await execute('/usr/bin/pdftoppm', [
          '-png',
          '-r',
          '60',
          '-f',
          '1',
          '-l',
          '1',
          file,
          path.join(directory, 'page'),
        ]);
    },
  );
});

/** Each line's glyphs from left to right (pdftotext -bbox: words, by line and column, sorted by position). */
async function glyphLines(file: string): Promise<string[]> {
  const { stdout } = await execute('/usr/bin/pdftotext', ['-enc', 'UTF-8', '-bbox', file, '-']);
  const lines = new Map<string, { x: number; text: string }[]>();
  for (const [, x, y, text] of stdout.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)<\/word>/g)) {
    const key = `${Math.round(Number(y))}:${Number(x) < 290 ? 'left' : 'right'}`;
    lines.set(key, [...(lines.get(key) ?? []), { x: Number(x), text }]);
  }
  return [...lines.values()].map((words) =>
    words
      .sort((a, b) => a.x - b.x)
      .map((w) => w.text)
      .join(''),
  );
}

/** A right-to-left word as its glyphs stand on the page, left to right: its letters from the last. */
const drawn = (word: string) => [...word].reverse().join('');

describe('mixed right-to-left lines in the PDF', () => {
  it.skipIf(!existsSync('/usr/bin/pdftotext'))(
    'draws them in the visual order of the bidi algorithm: an RTL paragraph from the right, its Latin and digits in place',
    async () => {
      const mixed: DocumentModel = {
        ...model,
        seller: { ...model.seller, address: 'شركة النور (الرياض) 2026' },
        buyer: { ...model.buyer, name: 'חברת ענן Ltd', address: 'רחוב הרצל 12, תל אביב', country: 'IL' },
        lines: [{ ...model.lines[0], description: 'Hosting for שירותי ענן GmbH' }],
      };
      const directory = await mkdtemp(path.join(os.tmpdir(), 'tariff-bidi-'));
      const file = path.join(directory, 'bidi.pdf');
      await writeFile(file, await renderPdf(mixed));
      const lines = await glyphLines(file);
      // Hebrew first, so the paragraph reads from the right: "Ltd" ends it, at its left end.
      expect(lines).toContain(['Ltd', drawn('ענן'), drawn('חברת')].join(''));
      // The number keeps its digits' order; the comma after it (in reading order) stands at its left.
      expect(lines).toContain([drawn('אביב'), drawn('תל'), ',', '12', drawn('הרצל'), drawn('רחוב')].join(''));
      // A Latin paragraph: the Hebrew words inside it are read from the right, in their place.
      expect(lines).toContain(['Hosting', 'for', drawn('ענן'), drawn('שירותי'), 'GmbH'].join(''));
      // Arabic: the brackets mirrored around the enclosed word, the year at the left end.
      expect(lines).toContain(['2026', '(', drawn('الرياض'), ')', drawn('النور'), drawn('شركة')].join(''));
    },
  );
});
