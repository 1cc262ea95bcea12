/** Bytes as lowercase hex, 16 bytes per line, bytes separated by spaces (PROTOCOL.md §10). */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.byteLength; at += 16) {
    lines.push(
      [...bytes.subarray(at, at + 16)].map((byte) => byte.toString(16).padStart(2, '0')).join(' '),
    );
  }
  return lines.join('\n');
}
