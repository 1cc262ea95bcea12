import path from 'node:path';
import { decodeQrImage, decodeTerminalQr, halfBlockModules } from '@ferry/testkit/qr';
import { runCleanup, tempDir } from '@ferry/testkit/unit';
import QRCode from 'qrcode';
import { afterEach, describe, expect, it } from 'vitest';
import { QR_QUIET_MODULES, qrLines, qrMatrix } from '../../src/link/qr.ts';

afterEach(runCleanup);

const TEXTS = [
  'http://192.168.1.20:7878/t/q8VJ3x-0aZ_kLm2PqRsT9w/',
  'http://192.168.100.200:65535/t/AAAAAAAAAAAAAAAAAAAAAA/',
  'http://[2001:db8:1234:5678:9abc:def0:1234:5678]:7878/t/_-_-_-_-_-_-_-_-_-_-_-/',
  'ferry-receive 10.0.0.7:7878',
  'ferry-receive [fd00::1]:49152',
];

describe('qrLines', () => {
  for (const text of TEXTS) {
    it(`draws a code that zbarimg reads back as the text, within 80 columns: ${text}`, async () => {
      const lines = qrLines(text);
      for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80);
      // No trailing blank: the quiet zone ends every line with a block.
      for (const line of lines) expect(line.endsWith(' ')).toBe(false);
      expect(await decodeTerminalQr(lines)).toEqual([text]);
    });
  }

  it("draws exactly the qrcode library's modules inside a light quiet zone", () => {
    const text = TEXTS[0]!;
    const matrix = qrMatrix(text);
    const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
    expect(matrix.length).toBe(modules.size);
    const drawn = halfBlockModules(qrLines(text));
    const size = matrix.length;
    for (let row = -QR_QUIET_MODULES; row < size + QR_QUIET_MODULES; row++) {
      for (let column = -QR_QUIET_MODULES; column < size + QR_QUIET_MODULES; column++) {
        const inside = row >= 0 && row < size && column >= 0 && column < size;
        const dark = inside && modules.get(row, column) === 1;
        expect(drawn[row + QR_QUIET_MODULES]![column + QR_QUIET_MODULES]).toBe(!dark);
      }
    }
  });

  it('keeps a LAN URL within 41 columns and 21 lines', () => {
    for (const text of TEXTS) {
      const lines = qrLines(text);
      expect(lines.length).toBeLessThanOrEqual(21);
      expect([...lines[0]!].length).toBeLessThanOrEqual(41);
    }
  });
});

describe('the qrcode library', () => {
  it('renders a PNG of the same text that zbarimg reads back', async () => {
    const text = TEXTS[2]!;
    const image = path.join(await tempDir(), 'code.png');
    await QRCode.toFile(image, text, { errorCorrectionLevel: 'M', type: 'png' });
    expect(await decodeQrImage(image)).toEqual([text]);
  });
});
