import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The characters of a QR code drawn with half blocks: a block is light, a space dark. */
const HALF_BLOCKS = ['█', '▀', '▄', ' '];

/** What zbar's `zbarimg` (Debian `zbar-tools`) reads in an image file: each QR code's text. */
export async function decodeQrImage(image: string): Promise<string[]> {
  const { stdout } = await run(
    'zbarimg',
    ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', image],
    {
      timeout: 15_000,
    },
  );
  return stdout.split('\n').filter((line) => line !== '');
}

/**
 * The modules of a QR code drawn with half blocks, two rows to a line; `true` is light (a
 * block on the terminal's dark background). Throws on any other character.
 */
export function halfBlockModules(lines: readonly string[]): boolean[][] {
  const rows: boolean[][] = [];
  for (const line of lines) {
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    for (const char of line) {
      if (!HALF_BLOCKS.includes(char))
        throw new Error(
          `not a half-block drawing: ${JSON.stringify(char)} in ${JSON.stringify(line)}`,
        );
      top.push(char === '█' || char === '▀');
      bottom.push(char === '█' || char === '▄');
    }
    rows.push(top, bottom);
  }
  return rows;
}

/**
 * A half-block drawing as a terminal with a dark background shows it, as a PBM image: light
 * modules white, dark modules and a margin of background black, `scale` pixels to a module.
 */
export function terminalImage(lines: readonly string[], scale = 4, margin = 6): string {
  const light = halfBlockModules(lines);
  const columns = Math.max(...light.map((row) => row.length));
  const width = (columns + 2 * margin) * scale;
  const height = (light.length + 2 * margin) * scale;
  const out: string[] = ['P1', `${width} ${height}`];
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / scale) - margin;
    const pixels: string[] = [];
    for (let x = 0; x < width; x++) {
      const column = Math.floor(x / scale) - margin;
      pixels.push(light[row]?.[column] ? '0' : '1');
    }
    out.push(pixels.join(' '));
  }
  return `${out.join('\n')}\n`;
}

/** Rasterises a half-block drawing as a dark terminal shows it and reads it with zbarimg. */
export async function decodeTerminalQr(lines: readonly string[]): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-qr-'));
  try {
    const image = path.join(dir, 'terminal.pbm');
    await writeFile(image, terminalImage(lines));
    return await decodeQrImage(image);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The lines of `output` that draw a QR code with half blocks: the first run of them, once a
 * whole line follows it (so a drawing still being printed is never taken); else none.
 */
export function qrLinesIn(output: string): string[] {
  // The text after the last newline is not a whole line yet.
  const lines = output.split('\n').slice(0, -1);
  const isDrawing = (line: string) =>
    line.length >= 21 &&
    !line.startsWith(' ') &&
    [...line].every((char) => HALF_BLOCKS.includes(char));
  const start = lines.findIndex(isDrawing);
  if (start < 0) return [];
  let end = start;
  while (end < lines.length && isDrawing(lines[end]!)) end++;
  return end < lines.length ? lines.slice(start, end) : [];
}
