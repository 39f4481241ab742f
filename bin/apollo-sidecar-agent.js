#!/usr/bin/env node
// The agent as built by `npm run build`: one bundled module (scripts/bundle.ts).
import { main } from '../dist/apollo-sidecar-agent.mjs';

main(process.argv.slice(2));
