import QRCode from 'qrcode';

/** Light modules around the code; scanners want a margin of the background colour. */
export const QR_QUIET_MODULES = 2;

/** Error correction: M recovers about 15% of the code, enough for a screen seen by a camera. */
const ERROR_CORRECTION = 'M';

/**
 * `text` as a QR code drawn with half-block characters, two rows of modules to a line, with a
 * quiet zone of {@link QR_QUIET_MODULES} modules. It is drawn for a terminal's usual light text
 * on a dark background: a light module is a block, a dark module a space. A LAN URL (version 4
 * or 5) takes 37 to 41 columns and 19 to 21 lines.
 */
export function qrLines(text: string): string[] {
  const matrix = qrMatrix(text);
  const size = matrix.length;
  const light = (row: number, column: number): boolean => {
    const inside = row >= 0 && row < size && column >= 0 && column < size;
    return !inside || !matrix[row]![column]!;
  };
  const lines: string[] = [];
  for (let row = -QR_QUIET_MODULES; row < size + QR_QUIET_MODULES; row += 2) {
    let line = '';
    for (let column = -QR_QUIET_MODULES; column < size + QR_QUIET_MODULES; column++) {
      const top = light(row, column);
      // Past the quiet zone below an odd last row: the terminal's dark background.
      const bottom = row + 1 < size + QR_QUIET_MODULES && light(row + 1, column);
      line += top ? (bottom ? '█' : '▀') : bottom ? '▄' : ' ';
    }
    lines.push(line);
  }
  return lines;
}

/** The QR code's modules for `text`, row by row; `true` is a dark module. */
export function qrMatrix(text: string): boolean[][] {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: ERROR_CORRECTION });
  const rows: boolean[][] = [];
  for (let row = 0; row < modules.size; row++) {
    const cells: boolean[] = [];
    for (let column = 0; column < modules.size; column++)
      cells.push(modules.get(row, column) === 1);
    rows.push(cells);
  }
  return rows;
}

/** `text` as a QR code in an SVG document (dark modules on white, with the quiet zone), for the window. */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: ERROR_CORRECTION, margin: QR_QUIET_MODULES });
}
