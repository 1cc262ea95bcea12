#!/usr/bin/env node
import { launch } from '@ferry/cli/launcher';

await launch(new URL('../src/bin.ts', import.meta.url), 'ferry-receive');
