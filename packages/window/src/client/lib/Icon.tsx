/** Small line icons drawn in the text's colour; no icon font, no emoji font needed. */
export function Icon({ name }: { name: 'folder' | 'file' | 'other' }) {
  return (
    <svg
      class="icon"
      viewBox="0 0 20 20"
      width="20"
      height="20"
      aria-hidden="true"
      focusable="false"
    >
      {name === 'folder' && (
        <path d="M2.5 5.5a1 1 0 0 1 1-1h4l2 2h7a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1h-13a1 1 0 0 1-1-1z" />
      )}
      {name === 'file' && <path d="M5 2.5h6.5l3.5 3.5v11.5H5zM11.5 2.5V6H15" />}
      {name === 'other' && <circle cx="10" cy="10" r="2.5" />}
    </svg>
  );
}
