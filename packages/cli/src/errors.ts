export { UsageError } from '@ferry/protocol';
