export { createFakeNetwork, type FakeHost, type FakeNetwork } from './fake.ts';
