// Which font draws which character in the PDF: the standard Helvetica for what WinAnsi holds (Latin), else the
// first Noto file (service/assets/fonts, OFL) whose Unicode ranges cover it; text is cut into runs of one font.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const directory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../assets/fonts');

/** WinAnsi (cp1252) is what the standard fonts can draw: Latin-1 plus a few typographic marks. */
const winAnsi = /[\u0020-\u007e\u00a0-\u00ff\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026\u20ac\n]/;

interface Coverage {
  file: string;
  ranges: [number, number][];
}

let coverage: Coverage[] | undefined;

/** "U+0370-03FF, U+1F??" as code point intervals. */
function parseRanges(text: string): [number, number][] {
  return text.split(',').map((part) => {
    const range = part.trim().replace(/^U\+/i, '');
    if (range.includes('?')) return [parseInt(range.replace(/\?/g, '0'), 16), parseInt(range.replace(/\?/g, 'F'), 16)];
    const [low, high = low] = range.split('-');
    return [parseInt(low, 16), parseInt(high, 16)];
  });
}

function coverageOf(): Coverage[] {
  coverage ??= (
    JSON.parse(readFileSync(path.join(directory, 'coverage.json'), 'utf8')) as { file: string; ranges: string }[]
  ).map((c) => ({ file: c.file, ranges: parseRanges(c.ranges) }));
  return coverage;
}

/** The Noto file that draws a code point, or undefined (then it prints as "?"). */
function fileFor(codePoint: number): string | undefined {
  return coverageOf().find((c) => c.ranges.some(([low, high]) => codePoint >= low && codePoint <= high))?.file;
}

/** A run of text and what draws it: null for the standard font, else a Noto file's absolute path. */
export interface Run {
  text: string;
  font: string | null;
}

/** A character as drawn: the font that has it (null: the standard font), or "?" in the standard font when none does. */
export function fontOf(char: string): Run {
  if (winAnsi.test(char)) return { text: char, font: null };
  const file = fileFor(char.codePointAt(0)!);
  return file ? { text: char, font: path.join(directory, file) } : { text: '?', font: null };
}

/** The text cut into runs of one font each; a character no font has is "?". */
export function runsOf(text: string): Run[] {
  const runs: Run[] = [];
  for (const char of text) {
    const { text: drawn, font } = fontOf(char);
    const last = runs[runs.length - 1];
    if (last && last.font === font) last.text += drawn;
    else runs.push({ text: drawn, font });
  }
  return runs;
}
