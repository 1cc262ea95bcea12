/**
 * The pairing code, large and spaced so it can be read aloud, and the key fingerprint under it
 * for comparing with the other screen.
 */
export function CodeDisplay({
  code,
  fingerprint,
  label = 'Pairing code',
}: {
  code: string;
  fingerprint?: string | undefined;
  label?: string;
}) {
  const groups = code.split(/[\s-]+/).filter((g) => g !== '');
  return (
    <div class="code-display">
      <div class="code-label">{label}</div>
      <span class="visually-hidden">{Array.from(code).join(' ')}</span>
      <div class="code-digits" aria-hidden="true">
        {groups.map((group, i) => (
          <span class="code-group" key={i}>
            {group}
          </span>
        ))}
      </div>
      {fingerprint && <Fingerprint value={fingerprint} />}
    </div>
  );
}

/** A key fingerprint (`558E F330 5F2B D3DE`), in a font where 0 and O differ. */
export function Fingerprint({
  value,
  label = 'Key fingerprint',
}: {
  value: string;
  label?: string;
}) {
  return (
    <div class="fingerprint">
      <span class="fingerprint-label">{label}</span> <code>{value}</code>
    </div>
  );
}
