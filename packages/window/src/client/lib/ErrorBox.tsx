import type { ComponentChildren } from 'preact';

/**
 * An error in plain words: what happened, what to do next, and a way to try again without
 * starting over when there is one.
 */
export function ErrorBox({
  title = 'Something went wrong',
  message,
  next,
  onRetry,
  retryLabel = 'Try again',
  children,
}: {
  title?: string;
  message: string;
  next?: string | undefined;
  onRetry?: (() => void) | undefined;
  retryLabel?: string;
  children?: ComponentChildren;
}) {
  return (
    <div class="error-box" role="alert">
      <h3 class="error-title">{title}</h3>
      <p class="error-message">{message}</p>
      {next && <p class="error-next">{next}</p>}
      {children}
      {onRetry && (
        <button type="button" class="button" onClick={onRetry}>
          {retryLabel}
        </button>
      )}
    </div>
  );
}
