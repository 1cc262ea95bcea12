import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ActionFailed, callAction } from '../lib/actions.ts';
import { ErrorBox } from '../lib/ErrorBox.tsx';

/** An action of the receiving window with its state: busy while it runs, and its refusal shown. */
export function useAction<T = unknown>(
  name: string,
): {
  run: (input?: unknown) => Promise<T | undefined>;
  busy: boolean;
  error: JSX.Element | null;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<{ code: string; message: string }>();
  const run = async (input: unknown = {}) => {
    setBusy(true);
    setFailure(undefined);
    try {
      return await callAction<T>(name, input);
    } catch (error) {
      setFailure(
        error instanceof ActionFailed ? error.info : { code: 'ERR_CLIENT', message: String(error) },
      );
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return {
    run,
    busy,
    error: failure ? <ErrorBox title="Not done" message={failure.message} /> : null,
    clear: () => setFailure(undefined),
  };
}
