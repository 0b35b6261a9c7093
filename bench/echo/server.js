// server.js: the Node.js peer of the echo benchmark (bench/echo/).
//
//   node bench/echo/server.js PORT [pipe|data]
//
// A net server on 127.0.0.1:PORT that echoes every connection. "pipe" (the
// default) is socket.pipe(socket), Node's idiomatic echo: the stream
// machinery writes each chunk back and pauses reading while the socket's
// write buffer is above its high-water mark. "data" is the hand-written
// form: on('data') writes the chunk back, pausing the socket when write()
// reports a full buffer and resuming on 'drain'. Node's defaults are kept
// (no noDelay: Node leaves Nagle on for net sockets, as libuv does). It
// prints nothing and runs until it is killed.
'use strict';

const net = require('net');

const port = Number(process.argv[2]);
const mode = process.argv[3] || 'pipe';
if (!(port > 0) || (mode !== 'pipe' && mode !== 'data')) {
  console.error('usage: node server.js PORT [pipe|data]');
  process.exit(2);
}

const server = net.createServer((socket) => {
  socket.on('error', () => {});  // the client went away at the end of its window
  if (mode === 'pipe') {
    socket.pipe(socket);
    return;
  }
  socket.on('data', (chunk) => {
    if (!socket.write(chunk)) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
  socket.on('end', () => socket.end());
});

server.listen(port, '127.0.0.1');
