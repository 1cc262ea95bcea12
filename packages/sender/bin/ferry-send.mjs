#!/usr/bin/env node
// Thin launcher: Ferry's packages ship TypeScript source, run through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../src/bin.ts');
