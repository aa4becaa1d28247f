// Pure: a reseller's logo as uploaded (base64, or a data: URL of it) checked the way the invoice PDF will read it:
// pdfkit's own image reader (it embeds PNG and JPEG only), at most 256 KiB and 4096 pixels a side, a PNG's
// compressed pixels inflating. Checked once at upload, so rendering an invoice never meets a bad image.
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import PDFDocument from 'pdfkit';
import type { LogoRef } from './repo.ts';

export const maxLogoBytes = 256 * 1024;
const maxSide = 4096;

export type DecodedLogo = LogoRef & { data: Buffer };

/** pdfkit's image reader (public, missing from its types): a PNG's parsed form keeps its compressed pixels. */
interface OpenedImage {
  width: number;
  height: number;
  image?: { imgData: Uint8Array };
}
interface Opener {
  openImage(data: Buffer): OpenedImage;
}

const dataUrl = /^data:(image\/(?:png|jpeg));base64,/;

export function decodeLogo(input: string): { ok: true; logo: DecodedLogo } | { ok: false; reason: string } {
  const base64 = input.replace(dataUrl, '').replace(/\s+/g, '');
  if (base64.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 === 1)
    return { ok: false, reason: 'must be a PNG or JPEG image in base64 (or a data:image/png;base64,... URL)' };
  const data = Buffer.from(base64, 'base64');
  if (data.length > maxLogoBytes)
    return { ok: false, reason: `is ${data.length} bytes; a logo may have at most ${maxLogoBytes} (256 KiB)` };
  const mediaType = data[0] === 0x89 && data.subarray(1, 4).toString('latin1') === 'PNG' ? 'image/png' : 'image/jpeg';
  if (mediaType === 'image/jpeg' && !(data[0] === 0xff && data[1] === 0xd8))
    return { ok: false, reason: 'is neither a PNG nor a JPEG image (the PDF embeds those two only)' };
  let image: OpenedImage;
  try {
    image = (new PDFDocument({ autoFirstPage: false }) as unknown as Opener).openImage(data);
    if (image.image) zlib.inflateSync(image.image.imgData);
  } catch (error) {
    return {
      ok: false,
      reason: `is not a readable ${mediaType === 'image/png' ? 'PNG' : 'JPEG'} image (${String(error)})`,
    };
  }
  if (mediaType === 'image/jpeg' && !isWholeJpeg(data))
    return { ok: false, reason: 'is a truncated JPEG image: its segments or its end-of-image marker are missing' };
  if (!(image.width > 0 && image.height > 0 && image.width <= maxSide && image.height <= maxSide))
    return { ok: false, reason: `is ${image.width}x${image.height} pixels; at most ${maxSide} a side` };
  return {
    ok: true,
    logo: {
      digest: crypto.createHash('sha256').update(data).digest('hex'),
      media_type: mediaType,
      width: image.width,
      height: image.height,
      bytes: data.length,
      data,
    },
  };
}

/**
 * Whether a JPEG is whole: pdfkit reads its header only (up to the frame's size), so a file cut short after it
 * would be accepted and print as a broken image. Walks the segments from SOI to the scan, each within the file,
 * then looks for the end-of-image marker after the scan's data.
 */
function isWholeJpeg(data: Buffer): boolean {
  let at = 2;
  for (;;) {
    if (at + 4 > data.length || data[at] !== 0xff) return false;
    const marker = data[at + 1];
    // Fill bytes before a marker, and markers without a length (TEM, RSTn) outside a scan.
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9) return false;
    const length = data.readUInt16BE(at + 2);
    if (length < 2 || at + 2 + length > data.length) return false;
    at += 2 + length;
    if (marker === 0xda) break;
  }
  // Entropy-coded data: 0xff is followed by 0x00 (a stuffed byte), RSTn, or another marker (a further scan of a
  // progressive JPEG, then EOI at the very end).
  for (let i = at; i + 1 < data.length; i++) if (data[i] === 0xff && data[i + 1] === 0xd9) return true;
  return false;
}
