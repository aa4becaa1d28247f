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
