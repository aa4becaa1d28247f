// A logo is accepted only as the PDF can print it: PNG or JPEG, within size, readable.
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeLogo, maxLogoBytes } from './logo.ts';

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])));
  return Buffer.concat([length, Buffer.from(type, 'latin1'), data, crc]);
}

/** A 2 x 1 grey PNG, its compressed pixels replaced by `idat` when given. */
function png(idat = zlib.deflateSync(Buffer.from([0, 10, 20]))): Buffer {
  const header = Buffer.from([0, 0, 0, 2, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * An 8 x 8 grey baseline JPEG, whole: one block whose DC difference and AC coefficients are all zero, coded with
 * one-symbol Huffman tables (DC category 0 and end-of-block, each the 1-bit code 0: the scan is 00 then fill bits).
 */
function jpeg(): Buffer {
  const segment = (marker: number, body: number[]) => [
    0xff,
    marker,
    (body.length + 2) >> 8,
    (body.length + 2) & 0xff,
    ...body,
  ];
  const oneSymbolTable = (tableClass: number) => [tableClass << 4, 1, ...new Array(15).fill(0), 0];
  return Buffer.from([
    0xff,
    0xd8,
    ...segment(0xdb, [0, ...new Array(64).fill(1)]),
    ...segment(0xc0, [8, 0, 8, 0, 8, 1, 1, 0x11, 0]),
    ...segment(0xc4, oneSymbolTable(0)),
    ...segment(0xc4, oneSymbolTable(1)),
    ...segment(0xda, [1, 1, 0, 0, 63, 0]),
    0x3f,
    0xff,
    0xd9,
  ]);
}

describe('decodeLogo', () => {
  it('accepts a PNG in base64 or as a data: URL, with its size and digest', () => {
    const bytes = png();
    for (const input of [bytes.toString('base64'), `data:image/png;base64,${bytes.toString('base64')}`]) {
      const decoded = decodeLogo(input);
      expect(decoded).toMatchObject({
        ok: true,
        logo: { media_type: 'image/png', width: 2, height: 1, bytes: bytes.length },
      });
      if (decoded.ok) expect(decoded.logo.data.equals(bytes)).toBe(true);
    }
    expect((decodeLogo(bytes.toString('base64')) as any).logo.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts a whole JPEG', () => {
    expect(decodeLogo(jpeg().toString('base64'))).toMatchObject({
      ok: true,
      logo: { media_type: 'image/jpeg', width: 8, height: 8, bytes: jpeg().length },
    });
  });

  it('refuses what the PDF could not print, saying why', () => {
    const cases: [string, RegExp][] = [
      ['not base64!', /base64/],
      [Buffer.from('GIF89a....').toString('base64'), /neither a PNG nor a JPEG/],
      [Buffer.alloc(maxLogoBytes + 1, 0x89).toString('base64'), /at most 262144/],
      [png(Buffer.from('not deflate data')).toString('base64'), /not a readable PNG/],
      [Buffer.from([0xff, 0xd8, 0xff, 0xd9]).toString('base64'), /not a readable JPEG/],
      // Cut short after the frame header pdfkit reads: in the scan's data, and inside the Huffman tables.
      [
        jpeg()
          .subarray(0, jpeg().length - 2)
          .toString('base64'),
        /truncated JPEG/,
      ],
      [jpeg().subarray(0, 100).toString('base64'), /truncated JPEG/],
    ];
    for (const [input, reason] of cases) {
      const decoded = decodeLogo(input);
      expect(decoded.ok, input.slice(0, 16)).toBe(false);
      if (!decoded.ok) expect(decoded.reason).toMatch(reason);
    }
  });
});
