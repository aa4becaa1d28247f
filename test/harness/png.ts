// Small PNG images with known pixels, built byte by byte (a logo to upload, pixels to find in a PDF).
import zlib from 'node:zlib';

/** A width x height RGB PNG whose pixel (x, y) is (x * 40, y * 60, 200): known pixels to find in the PDF. */
export function png(width: number, height: number): { bytes: Buffer; rgb: Buffer } {
  const rgb = Buffer.alloc(width * height * 3);
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3); // filter byte 0: none
    for (let x = 0; x < width; x++) {
      const pixel = [x * 40, y * 60, 200];
      pixel.forEach((v, c) => {
        row[1 + x * 3 + c] = v;
        rgb[(y * width + x) * 3 + c] = v;
      });
    }
    rows.push(row);
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])));
    return Buffer.concat([length, Buffer.from(type, 'latin1'), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, not interlaced
  const bytes = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  return { bytes, rgb };
}
