import { useEffect, useRef, useState } from 'preact/hooks';
import type { PairingSlice } from '../../state/receive.ts';
import { useSlice } from '../lib/live.ts';
import { useAction } from './use-action.tsx';

/** The pairing code field: the code ferry-send shows, typed here, never shown back. */
export function CodeScreen() {
  const pairing = useSlice<PairingSlice>('pairing');
  const code = useAction('code');
  const cancel = useAction('cancel');
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
  }, []);
  return (
    <div class="recv-step">
      <p>
        The sender needs the pairing code it shows. It proves that this is the computer you think it
        is.
      </p>
      {pairing && (
        <p class="hint">
          The sender's key starts with <span class="mono">{pairing.fingerprint}</span>: ferry-send
          shows the same key beside its code.
        </p>
      )}
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          await code.run({ code: value });
          setValue('');
        }}
      >
        <div class="field">
          <label for="recv-code">Pairing code</label>
          <div class="row">
            <input
              id="recv-code"
              ref={input}
              class="recv-code-input mono"
              type="text"
              inputMode="numeric"
              autoComplete="off"
              spellcheck={false}
              placeholder="1234-5678"
              aria-describedby="recv-code-hint"
              value={value}
              onInput={(event) => setValue((event.target as HTMLInputElement).value)}
            />
            <button
              type="submit"
              class="button button-primary"
              disabled={code.busy || value.trim() === ''}
            >
              Pair
            </button>
            <button type="button" class="button button-quiet" onClick={() => cancel.run()}>
              Cancel
            </button>
          </div>
          <span id="recv-code-hint" class="hint">
            Spaces and dashes between the digits are fine.
          </span>
        </div>
      </form>
      {code.error}
      {cancel.error}
    </div>
  );
}
