// The V8 flags the `sesame` server runs with. bin/sesame.js's shebang repeats them (a shebang
// cannot import; a test keeps the two equal), and `npm start`, `bench:instances` and the
// benchmark target launch the server with these.
//
// --max-semi-space-size=32: a 32 MiB young generation instead of Node 20's 16 MiB. A server
// request allocates a few KiB that live for one round trip, and with 50 requests in flight a
// scavenge copies every one of them still alive; half as many scavenges cut the server's CPU per
// send by ~6 % in interleaved A/B runs, for at most ~48 MiB more RSS under load.
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=32'];
