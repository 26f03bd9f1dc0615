#!/usr/bin/env node
// The command line runs the built JavaScript (npm run build; `npm install` builds it via prepare).
import '../dist/service/cli.js';
