import { afterAll, afterEach, beforeEach, inject } from 'vitest';
import { disposeAll, disposeTest, enterTest } from '@ferry/testkit/cleanup';
import { snapshotRealConfig } from '@ferry/testkit/real-config';

// Loaded by vitest before every test file (see vitest.config.ts).
beforeEach(() => enterTest());
afterEach(() => disposeTest());
afterAll(async () => {
  await disposeAll();
  // Tests never use the real ~/.config/ferry: each CLI gets its own FERRY_CONFIG_DIR.
  const before = inject('realConfig');
  const after = await snapshotRealConfig();
  if (after !== before) {
    throw new Error(
      `this test file created or changed the real Ferry config folder\nbefore: ${before}\nafter: ${after}`,
    );
  }
});
