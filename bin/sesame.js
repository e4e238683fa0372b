#!/usr/bin/env -S node --max-semi-space-size=32
// The `sesame` command of the repository root: the server package's own launcher, so there is one.
import '../packages/server/bin/sesame.js';
