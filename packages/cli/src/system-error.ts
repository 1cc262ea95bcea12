export { describeSystemError } from '@ferry/protocol';
