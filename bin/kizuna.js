#!/usr/bin/env node
// Loads the TypeScript sources through tsx in this same process, so signals reach the CLI directly.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
