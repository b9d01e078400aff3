'use strict';
// A Verdaccio middleware plugin for ipnpm's tests: one JSON line per request when it starts
// and one when its response closes (finished or aborted), appended synchronously so a test
// that reads the file right after npm exits sees everything.
//
// Why not Verdaccio's own access log: 5.x writes its "http" line from both `req.on('close')`
// and `res.end`, so a request is logged once, twice, or with a premature status 200 before
// the real 404, depending on whether its body was read and whether the client hung up.
// Counting requests (tarball GETs above all) must be exact.
const fs = require('fs');

module.exports = function ipnpmRequestLog(pluginConfig) {
  const logPath = pluginConfig.path;
  let counter = 0;
  const write = (entry) => fs.appendFileSync(logPath, JSON.stringify(entry) + '\n');
  return {
    register_middlewares(app) {
      app.use((req, res, next) => {
        // The pid keeps ids unique across a stop() and start() that share one log file.
        const id = `${process.pid}-${++counter}`;
        write({ id, event: 'start', method: req.method, path: req.originalUrl });
        res.on('close', () => {
          write({ id, event: 'end', status: res.statusCode, finished: res.writableFinished });
        });
        next();
      });
    },
  };
};
