// What `npm config ls --json` prints, computed by npm's own configuration loader
// (@npmcli/config, from the npm being run) without starting the rest of npm's CLI: a third
// of npm's start-up, on the critical path of every run through the proxy.
//
//   node config_ls.js NPM_ROOT [--ca EXTRA_CA] [--wait OUT_FD IN_FD]   (NPM_ROOT: npm's package)
//
// --ca: the caller's NODE_EXTRA_CA_CERTS, which it leaves out of this process's start (Node
// would load that bundle before running a line of this, and the read opens no connection);
// it is put back into the environment that npm's loader reads, and npm's scripts inherit.
//
// --wait (ipnpm/npm/waiting.py): the listing goes to OUT_FD, which is then closed; then this
// process reads {argv, env} from IN_FD up to its end and becomes that npm: process.argv and
// process.env replaced (the loader's own exports to the environment go with them), npm's
// lib/cli.js run. Nothing to read: exit 0.
//
// Exit 3: not an npm this script knows; exit 1: npm's loader failed. Either way ipnpm runs
// `npm config ls --json` itself, for npm's own answer or message.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const [root, ...options] = process.argv.slice(2)
const option = (name, count) => {
  const at = options.indexOf(name)
  return at < 0 ? null : options.slice(at + 1, at + 1 + count)
}
const extraCa = option('--ca', 1)
if (extraCa) {
  process.env.NODE_EXTRA_CA_CERTS = extraCa[0]
}
const [outFd, inFd] = (option('--wait', 2) || [-1, -1]).map(Number)
const fromNpm = (name) => require(path.join(root, 'node_modules', name))

let npmVersion
try {
  npmVersion = require(path.join(root, 'package.json')).version
} catch {
  process.exit(3)
}
if (!/^11\./.test(npmVersion)) {
  process.exit(3) // checked against npm 11's `config ls`; other majors lay things out otherwise
}

// The command line npm would have seen: `json` is true in the listing, as in npm's own.
const argv = [process.execPath, path.join(root, 'bin', 'npm-cli.js'), 'config', 'ls', '--json']
let config, redact
try {
  const Config = fromNpm('@npmcli/config')
  const { definitions, flatten, nerfDarts, shorthands } = fromNpm('@npmcli/config/lib/definitions')
  redact = fromNpm('@npmcli/redact').redact
  config = new Config({
    npmPath: root, definitions, flatten, nerfDarts, shorthands, argv, excludeNpmCwd: false, warn: false,
  })
} catch {
  // An npm 11 laid out otherwise: npm itself is asked. Silently: under --wait, stderr is the
  // user's terminal, and the message that counts is npm's.
  process.exit(3)
}

// npm's `config ls` leaves out the keys it protects and any value its redaction would change.
const PROTECTED = ['auth', 'authToken', 'certfile', 'email', 'keyfile', 'password', 'username']
const isProtected = (key) =>
  key.startsWith('_') ||
  PROTECTED.includes(key) ||
  (key.startsWith('//') &&
    (key.includes(':_') || PROTECTED.some((p) => key.endsWith(`:${p}`) || key.endsWith(`:_${p}`))))

config.load().then(() => {
  const scope = config.get('scope')
  if (scope && !scope.startsWith('@')) {
    config.set('scope', `@${scope}`, config.find('scope')) // as npm's load does
  }
  const listed = {}
  for (const key in config.list[0]) {
    const value = config.get(key)
    if (!isProtected(key) && redact(value) === value) {
      listed[key] = value
    }
  }
  const listing = `${JSON.stringify(listed, null, 2)}\n`
  if (inFd < 0) {
    process.stdout.write(listing)
    return
  }
  try {
    writeAll(outFd, listing)
    fs.closeSync(outFd)
  } catch {
    process.exit(0) // ipnpm no longer reads (it stopped early): nothing to say
  }
  becomeNpm(JSON.parse(readAll(inFd) || 'null'))
}, () => process.exit(1))

function writeAll (fd, text) {
  const bytes = Buffer.from(text)
  for (let done = 0; done < bytes.length;) {
    done += fs.writeSync(fd, bytes, done)
  }
}

function readAll (fd) {
  const chunks = []
  const chunk = Buffer.alloc(1 << 16)
  for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0;) {
    chunks.push(Buffer.from(chunk.subarray(0, n)))
  }
  fs.closeSync(fd) // npm's scripts must not inherit it
  return Buffer.concat(chunks).toString()
}

function becomeNpm (message) {
  if (message === null) {
    process.exit(0) // not needed: ipnpm starts no npm, or a fresh one
  }
  for (const key of Object.keys(process.env)) {
    if (!(key in message.env)) {
      delete process.env[key]
    }
  }
  Object.assign(process.env, message.env)
  // As `#!/usr/bin/env node` starts npm: node's path, then the script's as it was run.
  process.argv = [process.execPath, path.resolve(message.argv[0]), ...message.argv.slice(1)]
  require(path.join(root, 'lib', 'cli.js'))(process)
}
