// What `npm config ls --json` prints, computed by npm's own configuration loader
// (@npmcli/config, from the npm being run) without starting the rest of npm's CLI: a third
// of npm's start-up, on the critical path of every run through the proxy.
//
//   node config_ls.js NPM_ROOT [EXTRA_CA]   (NPM_ROOT: the npm package directory)
//
// EXTRA_CA: the caller's NODE_EXTRA_CA_CERTS, which it leaves out of this process's start (Node
// would load that bundle before running a line of this, and nothing here opens a connection);
// it is put back into the environment that npm's loader reads.
//
// Exit 3: not an npm this script knows; exit 1: npm's loader failed. Either way ipnpm runs
// `npm config ls --json` itself, for npm's own answer or message.
'use strict'
const path = require('node:path')

const root = process.argv[2]
if (process.argv.length > 3) {
  process.env.NODE_EXTRA_CA_CERTS = process.argv[3]
}
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

const Config = fromNpm('@npmcli/config')
const { definitions, flatten, nerfDarts, shorthands } = fromNpm('@npmcli/config/lib/definitions')
const { redact } = fromNpm('@npmcli/redact')

// The command line npm would have seen: `json` is true in the listing, as in npm's own.
const argv = [process.execPath, path.join(root, 'bin', 'npm-cli.js'), 'config', 'ls', '--json']
const config = new Config({
  npmPath: root, definitions, flatten, nerfDarts, shorthands, argv, excludeNpmCwd: false, warn: false,
})

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
  process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`)
}, () => process.exit(1))
