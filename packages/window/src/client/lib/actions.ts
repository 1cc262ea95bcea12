import type { ErrorInfo, FsListing } from '../../state/common.ts';

/** An action the app refused or could not do; `message` says what to do next. */
export class ActionFailed extends Error {
  override name = 'ActionFailed';
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status: number) {
    super(message);
    this.code = code;
    this.status = status;
  }

  /** The error as ErrorBox shows it. */
  get info(): ErrorInfo {
    return { code: this.code, message: this.message };
  }
}

/** Posts JSON to the app (same origin, with the window's cookie) and returns the answer's value. */
export async function postJson<T = unknown>(path: string, input: unknown = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(input),
      credentials: 'same-origin',
    });
  } catch {
    throw new ActionFailed(
      'ERR_NETWORK',
      'Ferry did not answer. It may have stopped: look at the terminal, or start it again.',
      0,
    );
  }
  let answer: { ok?: true; value?: T; error?: ErrorInfo } = {};
  try {
    answer = (await response.json()) as typeof answer;
  } catch {
    // An answer without JSON is reported by its status below.
  }
  if (response.ok && answer.ok) return answer.value as T;
  const error = answer.error ?? {
    code: 'ERR_HTTP',
    message: `Ferry answered ${response.status}. Reload the page.`,
  };
  throw new ActionFailed(error.code, error.message, response.status);
}

/** Runs the app's action `name` with `input`; throws {@link ActionFailed}. */
export function callAction<T = unknown>(name: string, input: unknown = {}): Promise<T> {
  return postJson<T>(`/api/action/${encodeURIComponent(name)}`, input);
}

/** The file browser's requests (see `state/common.ts`). */
export const fs = {
  list: (input: { path?: string; hidden?: boolean }) => postJson<FsListing>('/api/fs/list', input),
  mkdir: (parent: string, name: string) =>
    postJson<{ path: string }>('/api/fs/mkdir', { parent, name }),
  space: (path: string) => postJson<{ free: number | null }>('/api/fs/space', { path }),
  recent: (path: string) => postJson<{ recent: string[] }>('/api/fs/recent', { path }),
};
