// Mixed right-to-left text in the PDF: a line's characters put in visual order by the Unicode Bidirectional
// Algorithm (UAX #9, through bidi-js: embedding levels, then rules L2 and L4: reversal and mirrored brackets), then
// cut into runs of one font (fonts.ts) to draw left to right. fontkit shapes a run of an RTL script itself and lays
// it out right to left, so such a run is handed over in logical order (its letters joined as they are written);
// every other run at an RTL level (spaces, punctuation, brackets in the standard font) is handed over as seen.
import bidiModule, { type Bidi } from 'bidi-js';
import { fontOf, runsOf, type Run } from './fonts.ts';

// A CommonJS module whose types declare an ES default export: under Node its default import is the factory itself.
const bidiFactory = (
  typeof bidiModule === 'function' ? bidiModule : (bidiModule as { default: unknown }).default
) as () => Bidi;
const bidi = bidiFactory();

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/** Whether fontkit lays this run out right to left: it holds a strong right-to-left letter (Hebrew, Arabic...). */
function laidOutRightToLeft(text: string): boolean {
  for (const char of text) {
    const type = bidi.getBidiCharTypeName(char);
    if (type === 'R' || type === 'AL') return true;
  }
  return false;
}

/**
 * One line of text (no line break) as the runs to draw from left to right. The paragraph's direction is its first
 * strong character's (rule P2): a Hebrew name with a Latin suffix reads from the right, the suffix at its left end.
 * A line with no right-to-left character is its runsOf, unchanged.
 */
export function visualRunsOf(line: string): Run[] {
  const embedding = bidi.getEmbeddingLevels(line);
  if (!embedding.levels.some((level: number) => level % 2 === 1)) return runsOf(line);
  const pieces: (Run & { rightToLeft: boolean })[] = [];
  const taken = new Set<number>();
  for (const index of bidi.getReorderedIndices(line, embedding)) {
    // A character outside the BMP is two code units, which a reversal swaps: take it whole, once, at either.
    const start =
      isLowSurrogate(line.charCodeAt(index)) && index > 0 && isHighSurrogate(line.charCodeAt(index - 1))
        ? index - 1
        : index;
    if (taken.has(start)) continue;
    taken.add(start);
    const rightToLeft = embedding.levels[start] % 2 === 1;
    const char = String.fromCodePoint(line.codePointAt(start)!);
    const drawn = fontOf(rightToLeft ? (bidi.getMirroredCharacter(char) ?? char) : char);
    const last = pieces[pieces.length - 1];
    if (last && last.font === drawn.font && last.rightToLeft === rightToLeft) last.text += drawn.text;
    else pieces.push({ ...drawn, rightToLeft });
  }
  return pieces.map(({ text, font, rightToLeft }) => ({
    text: rightToLeft && laidOutRightToLeft(text) ? [...text].reverse().join('') : text,
    font,
  }));
}
