import { FerryError } from '@ferry/protocol';

/** The destination folder cannot take the offer: missing, not writable, or too little space. */
export class DestinationError extends FerryError {
  override name = 'DestinationError';
}

/** One path cannot be created in the chosen folder (too long, or a name it cannot store): only its entry fails. */
export class UnsavablePathError extends FerryError {
  override name = 'UnsavablePathError';
}
