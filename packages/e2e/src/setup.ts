import { afterAll, afterEach, beforeEach } from 'vitest';
import { disposeAll, disposeTest, enterTest } from './cleanup.ts';

// Loaded by vitest before every test file (see vitest.config.ts).
beforeEach(() => enterTest());
afterEach(() => disposeTest());
afterAll(() => disposeAll());
