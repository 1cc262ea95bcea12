#!/usr/bin/env node
import { launch } from '@ferry/protocol/launcher';

await launch(new URL('../src/bin.ts', import.meta.url), 'ferry-send');
